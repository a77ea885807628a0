/**
 * Tells waiting readers that `$all` may have grown. A reader notes the generation before it
 * reads, so a change that lands between its read and its wait is never slept through.
 */
export class ChangeSignal {
  #generation = 0;
  #waiters = new Set<() => void>();

  get generation(): number {
    return this.#generation;
  }

  notify(): void {
    this.#generation++;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /**
   * Resolves on a change after `sinceGeneration` (true), or after `timeoutMs` or on abort (false).
   */
  wait(sinceGeneration: number, timeoutMs: number, abort?: AbortSignal): Promise<boolean> {
    if (this.#generation !== sinceGeneration) return Promise.resolve(true);
    if (abort?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (changed: boolean) => {
        clearTimeout(timer);
        abort?.removeEventListener('abort', onAbort);
        this.#waiters.delete(onChange);
        resolve(changed);
      };
      const onChange = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      abort?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(onChange);
    });
  }
}
