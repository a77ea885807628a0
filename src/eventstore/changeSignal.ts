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

  /** Resolves on a change after `sinceGeneration`, after `timeoutMs`, or on abort. */
  wait(sinceGeneration: number, timeoutMs: number, abort?: AbortSignal): Promise<void> {
    if (this.#generation !== sinceGeneration || abort?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        abort?.removeEventListener('abort', done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      abort?.addEventListener('abort', done, { once: true });
      this.#waiters.add(done);
    });
  }
}
