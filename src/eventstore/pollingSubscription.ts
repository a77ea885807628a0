import { pause } from '../platform/pause.js';
import type { ChangeSignal } from './changeSignal.js';
import type { AllFrom, RecordedEvent, Subscription } from './eventStore.js';

export type PollingOptions = {
  readPage: (from: AllFrom, maxCount: number) => Promise<RecordedEvent[]>;
  signal: ChangeSignal;
  from: AllFrom;
  pageSize: number;
  /** Longest sleep between reads when no change is signalled (the fallback when notifications are lost). */
  pollIntervalMs: number;
  /** A failed read is retried after a pause; this hears about it. */
  onReadError?: (error: unknown) => void;
  onClose?: () => void;
};

const FIRST_RETRY_MS = 10;
const LONGEST_ERROR_PAUSE_MS = 5_000;

/**
 * A `$all` subscription that reads pages after its last position and sleeps on the change
 * signal between them. A change may be signalled before the new events are readable (the
 * PostgreSQL store shows an append only once older transactions have ended), so after a
 * change that brought nothing it looks again soon, backing off to the poll interval.
 */
export const pollingSubscription = (options: PollingOptions): Subscription => {
  const stop = new AbortController();
  const sleep = (ms: number) => pause(ms, stop.signal);

  let closed = false;
  const closeOnce = () => {
    if (closed) return;
    closed = true;
    stop.abort();
    options.onClose?.();
  };

  async function* events(): AsyncGenerator<RecordedEvent> {
    let from = options.from;
    // After a change that brought nothing readable yet: how soon to look again (0: not now).
    let quickRetryMs = 0;
    let errorPauseMs = FIRST_RETRY_MS;
    // While catching up, the next page is read while this one is handed out.
    let nextPage: { generation: number; page: Promise<RecordedEvent[]> } | undefined;
    try {
      while (!stop.signal.aborted) {
        const read = nextPage ?? {
          generation: options.signal.generation,
          page: options.readPage(from, options.pageSize),
        };
        nextPage = undefined;
        const { generation } = read;
        let page: RecordedEvent[];
        try {
          page = await read.page;
          errorPauseMs = FIRST_RETRY_MS;
        } catch (error) {
          options.onReadError?.(error);
          await sleep(errorPauseMs);
          errorPauseMs = Math.min(LONGEST_ERROR_PAUSE_MS, errorPauseMs * 2);
          continue;
        }
        const last = page.at(-1);
        if (last && page.length === options.pageSize) {
          nextPage = {
            generation: options.signal.generation,
            page: options.readPage(last.position, options.pageSize),
          };
          // Its failure is handled when it is awaited above; until then it is not unhandled.
          nextPage.page.catch(() => undefined);
        }
        for (const event of page) {
          if (stop.signal.aborted) return;
          from = event.position;
          yield event;
        }
        if (page.length === options.pageSize) continue;
        if (page.length > 0) quickRetryMs = 0;
        const changed = await options.signal.wait(
          generation,
          quickRetryMs || options.pollIntervalMs,
          stop.signal,
        );
        if (changed) quickRetryMs = FIRST_RETRY_MS;
        else
          quickRetryMs = quickRetryMs > 0 && quickRetryMs * 2 < options.pollIntervalMs ? quickRetryMs * 2 : 0;
      }
    } finally {
      closeOnce();
    }
  }
  const iterator = events();
  return {
    [Symbol.asyncIterator]: () => iterator,
    close: async () => {
      closeOnce();
      // Ends a generator paused at a yield; one waiting inside sees the abort and ends itself.
      await iterator.return(undefined).catch(() => undefined);
    },
  };
};
