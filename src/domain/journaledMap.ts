const ABSENT = Symbol('absent');

/**
 * A Map that can remember, from a point on, the earlier value of every key it changes, so that
 * those changes can be taken back. Taking back costs as much as the changes did, not the size of
 * the map: what a hot stream's cached state needs to try a batch without copying itself.
 */
export class JournaledMap<K, V> extends Map<K, V> {
  // Not a #private field: Map's constructor calls set before such a field exists.
  private journal: Map<K, V | typeof ABSENT> | undefined;

  /** From now on, remember what each change replaces. */
  startJournal(): void {
    this.journal = new Map();
  }

  /** Keep the changes since startJournal. */
  keepChanges(): void {
    this.journal = undefined;
  }

  /** Take back every change since startJournal. */
  undoChanges(): void {
    const journal = this.journal;
    this.journal = undefined;
    if (!journal) return;
    for (const [key, before] of journal) {
      if (before === ABSENT) super.delete(key);
      else super.set(key, before);
    }
  }

  override set(key: K, value: V): this {
    this.remember(key);
    return super.set(key, value);
  }

  override delete(key: K): boolean {
    this.remember(key);
    return super.delete(key);
  }

  override clear(): void {
    for (const key of this.keys()) this.remember(key);
    super.clear();
  }

  private remember(key: K): void {
    const journal = this.journal;
    if (!journal || journal.has(key)) return;
    journal.set(key, super.has(key) ? (super.get(key) as V) : ABSENT);
  }
}
