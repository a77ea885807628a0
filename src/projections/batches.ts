import type { RecordedEvent, Subscription } from '../eventstore/eventStore.js';

/**
 * Groups a subscription's events into batches: as many as arrive without waiting longer than
 * `lingerMs`, up to `maxSize`. A catch-up fills whole batches; live traffic goes out promptly.
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
    while (batch.length < maxSize) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), lingerMs);
      });
      const result = await Promise.race([next(), timeout]);
      clearTimeout(timer);
      if (result === 'timeout') break;
      pending = undefined;
      if (result.done) {
        yield batch;
        return;
      }
      batch.push(result.value);
    }
    yield batch;
  }
}
