import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/eventstore/eventStore.js';
import { MemoryEventStore } from '../../src/eventstore/memory/memoryEventStore.js';
import { batches } from '../../src/projections/batches.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('batches of a subscription', () => {
  it('fills whole batches on a catch-up, then sends live events out as they come, together when they come together', async () => {
    const store = new MemoryEventStore();
    for (let i = 0; i < 1250; i++)
      await store.appendToStream(`s-${i % 7}`, [{ type: 'Counted', data: { i } }]);
    const subscription = store.subscribeToAll({ from: 'start' });
    const seen: RecordedEvent[][] = [];
    const consuming = (async () => {
      for await (const batch of batches(subscription, 500, 5)) seen.push(batch);
    })();
    const waitForCount = async (n: number) => {
      while (seen.flat().length < n) await sleep(2);
    };

    await waitForCount(1250);
    expect(seen.map((b) => b.length)).toEqual([500, 500, 250]);
    expect(seen.flat().map((e) => (e.data as { i: number }).i)).toEqual(
      Array.from({ length: 1250 }, (_, i) => i),
    );

    // Three appends far apart: three batches, each sent without waiting for more.
    for (let i = 0; i < 3; i++) {
      await store.appendToStream('live', [{ type: 'Counted', data: { i: 2000 + i } }]);
      await waitForCount(1251 + i);
      await sleep(30);
    }
    expect(seen.slice(3).map((b) => b.length)).toEqual([1, 1, 1]);

    // Three appends at once: one batch.
    await Promise.all(
      [0, 1, 2].map((i) => store.appendToStream(`burst-${i}`, [{ type: 'Counted', data: { i } }])),
    );
    await waitForCount(1256);
    expect(seen.slice(6).map((b) => b.length)).toEqual([3]);

    await subscription.close();
    await consuming;
  });
});
