import type { ChangeSignal } from './changeSignal.js';
import type { AllFrom, RecordedEvent, Subscription } from './eventStore.js';

export type PollingOptions = {
  readPage: (from: AllFrom, maxCount: number) => Promise<RecordedEvent[]>;
  signal: ChangeSignal;
  from: AllFrom;
  pageSize: number;
  /** Longest sleep between reads when no change is signalled (the fallback when notifications are lost). */
  pollIntervalMs: number;
  onClose?: () => void;
};

/** A `$all` subscription that reads pages after its last position and sleeps on the change signal between them. */
export const pollingSubscription = (options: PollingOptions): Subscription => {
  const stop = new AbortController();
  async function* events(): AsyncGenerator<RecordedEvent> {
    let from = options.from;
    while (!stop.signal.aborted) {
      const generation = options.signal.generation;
      const page = await options.readPage(from, options.pageSize);
      for (const event of page) {
        if (stop.signal.aborted) return;
        from = event.position;
        yield event;
      }
      if (page.length < options.pageSize)
        await options.signal.wait(generation, options.pollIntervalMs, stop.signal);
    }
  }
  const iterator = events();
  return {
    [Symbol.asyncIterator]: () => iterator,
    close: async () => {
      if (stop.signal.aborted) return;
      stop.abort();
      options.onClose?.();
    },
  };
};
