import type { RecordedEvent, Subscription } from '../eventstore/eventStore.js';

/**
 * Groups a subscription's events into batches: as many as arrive without a gap longer than
 * `lingerMs`, up to `maxSize`. A catch-up fills whole batches; live traffic goes out promptly.
 * One timer serves a whole batch (re-armed for what is left of the gap), not one per event: a
 * catch-up of a million events would otherwise set a million timers.
 */
export async function* batches(
  subscription: Subscription,
  maxSize: number,
  lingerMs = 5,
): AsyncGenerator<RecordedEvent[]> {
  const iterator = subscription[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<RecordedEvent>> | undefined;
  const next = () => {
    pending ??= iterator.next();
    return pending;
  };
  for (;;) {
    const first = await next();
    pending = undefined;
    if (first.done) return;
    const batch = [first.value];
    let lastArrival = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const gapEnded = new Promise<'timeout'>((resolve) => {
      const check = () => {
        const quiet = performance.now() - lastArrival;
        if (quiet >= lingerMs) resolve('timeout');
        else timer = setTimeout(check, lingerMs - quiet);
      };
      timer = setTimeout(check, lingerMs);
    });
    try {
      while (batch.length < maxSize) {
        const result = await Promise.race([next(), gapEnded]);
        if (result === 'timeout') break;
        pending = undefined;
        if (result.done) {
          yield batch;
          return;
        }
        batch.push(result.value);
        lastArrival = performance.now();
      }
    } finally {
      clearTimeout(timer);
    }
    yield batch;
  }
}
