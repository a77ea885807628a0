import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleCommand } from '../../src/commands/handleCommand.js';
import { WriterOverloadedError } from '../../src/commands/hotStreamWriter.js';
import { InventoryWriters } from '../../src/commands/inventoryWriters.js';
import { loadAggregate } from '../../src/commands/loadAggregate.js';
import { inventoryDecider, inventoryStreamName } from '../../src/domain/inventory/decider.js';
import type { EventStore } from '../../src/eventstore/eventStore.js';
import { type StoreSubject, storeSubjects } from '../support/stores.js';

const now = new Date('2026-12-01T10:00:00.000Z');

const newInventory = async (store: EventStore, capacity: number, maxPerCustomer = 10) => {
  const ticketTypeId = randomUUID();
  const result = await handleCommand(store, inventoryDecider, inventoryStreamName(ticketTypeId), {
    type: 'InitializeInventory',
    data: {
      ticketTypeId,
      showId: randomUUID(),
      capacity,
      maxPerCustomer,
      holdSeconds: 600,
      salesOpenAt: now.toISOString(),
      now,
    },
  });
  expect(result.ok).toBe(true);
  return ticketTypeId;
};

const figures = async (store: EventStore, ticketTypeId: string) => {
  const { state } = await loadAggregate(store, inventoryDecider, inventoryStreamName(ticketTypeId));
  if (state.status !== 'initialized') throw new Error('no inventory');
  return {
    available: state.available,
    reserved: state.reserved,
    sold: state.sold,
    capacity: state.definition.capacity,
  };
};

/** A store that counts reads and can be told to fail the next append, around a real store. */
const instrumented = (store: EventStore) => {
  const reads: bigint[] = [];
  let failNextAppend = false;
  const wrapped: EventStore = {
    appendToStream: (...args) => {
      if (failNextAppend) {
        failNextAppend = false;
        return Promise.reject(new Error('connection lost'));
      }
      return store.appendToStream(...args);
    },
    readStream: (name, options) => {
      reads.push(options?.fromRevision ?? 0n);
      return store.readStream(name, options);
    },
    readAll: (options) => store.readAll(options),
    subscribeToAll: (options) => store.subscribeToAll(options),
    close: () => store.close(),
  };
  return { store: wrapped, reads, failNextAppend: () => (failNextAppend = true) };
};

for (const createSubject of storeSubjects) {
  describe(`hot-stream inventory writer (${createSubject.name.replace('Subject', '')} store)`, () => {
    let subject: StoreSubject;
    beforeAll(async () => {
      subject = await createSubject();
    });
    afterAll(async () => subject?.teardown());

    it('takes 2,000 concurrent holds on 500 seats: exactly 500 reserved, none oversold, every caller answered', async () => {
      const ticketTypeId = await newInventory(subject.store, 500);
      const writers = new InventoryWriters(subject.store);
      const results = await Promise.all(
        Array.from({ length: 2000 }, (_, i) =>
          writers.reserve(ticketTypeId, { reservationId: `r${i}`, customerId: `c${i}`, quantity: 1, now }),
        ),
      );
      const held = results.filter((r) => r.ok && r.events.length === 1).length;
      const soldOut = results.filter((r) => !r.ok && r.error.code === 'sold_out').length;
      expect(results).toHaveLength(2000);
      expect(held).toBe(500);
      expect(soldOut).toBe(1500);
      expect(await figures(subject.store, ticketTypeId)).toEqual({
        available: 0,
        reserved: 500,
        sold: 0,
        capacity: 500,
      });
      const { events } = await subject.store.readStream(inventoryStreamName(ticketTypeId));
      expect(
        new Set(
          events
            .filter((e) => e.type === 'SeatsReserved')
            .map((e) => (e.data as { reservationId: string }).reservationId),
        ).size,
      ).toBe(500);
      // Far fewer appends than commands: the writer batched them.
      expect(new Set(results.flatMap((r) => (r.ok ? [r.revision] : []))).size).toBeLessThan(100);
      await writers.close();
    });

    it('reserves once for duplicates of one reservation in one batch, and tells each caller about it', async () => {
      const ticketTypeId = await newInventory(subject.store, 10);
      const writers = new InventoryWriters(subject.store);
      const [first, second] = await Promise.all([
        writers.reserve(ticketTypeId, { reservationId: 'same', customerId: 'alice', quantity: 2, now }),
        writers.reserve(ticketTypeId, { reservationId: 'same', customerId: 'alice', quantity: 2, now }),
      ]);
      expect(first).toMatchObject({ ok: true, answer: { reservation: { quantity: 2, status: 'reserved' } } });
      expect(second).toMatchObject({
        ok: true,
        events: [],
        answer: { reservation: { quantity: 2, status: 'reserved' } },
      });
      expect((await figures(subject.store, ticketTypeId)).reserved).toBe(2);
      await writers.close();
    });

    it('keeps its state between batches: after the first load it only reads to catch up', async () => {
      const ticketTypeId = await newInventory(subject.store, 100);
      const { store, reads } = instrumented(subject.store);
      const writers = new InventoryWriters(store);
      for (let i = 0; i < 20; i++)
        await writers.reserve(ticketTypeId, {
          reservationId: `r${i}`,
          customerId: `c${i}`,
          quantity: 1,
          now,
        });
      expect(reads).toEqual([0n]);
      await writers.close();
    });

    it('starts again for a command queued just as it finishes a batch', async () => {
      const ticketTypeId = await newInventory(subject.store, 100);
      const writers = new InventoryWriters(subject.store);
      // Each reservation is sent from the previous one's resolution, the moment its batch ends.
      let chain: Promise<unknown> = Promise.resolve();
      for (let i = 0; i < 30; i++)
        chain = chain.then(() =>
          writers.reserve(ticketTypeId, { reservationId: `r${i}`, customerId: `c${i}`, quantity: 1, now }),
        );
      await chain;
      expect((await figures(subject.store, ticketTypeId)).reserved).toBe(30);
      await writers.close();
    }, 10_000);

    it('refuses commands past its queue bound with WriterOverloadedError and answers the rest', async () => {
      const ticketTypeId = await newInventory(subject.store, 1000);
      const writers = new InventoryWriters(subject.store, { maxQueue: 10 });
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          writers.reserve(ticketTypeId, { reservationId: `r${i}`, customerId: `c${i}`, quantity: 1, now }),
        ),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) expect(r.reason).toBeInstanceOf(WriterOverloadedError);
      const answered = results.filter((r) => r.status === 'fulfilled');
      expect(answered.length).toBe(50 - refused.length);
      expect((await figures(subject.store, ticketTypeId)).reserved).toBe(answered.length);
      await writers.close();
    });

    it('never turns away a release for a full queue: only new holds are shed', async () => {
      const ticketTypeId = await newInventory(subject.store, 1000);
      const writers = new InventoryWriters(subject.store, { maxQueue: 5 });
      await writers.reserve(ticketTypeId, { reservationId: 'held', customerId: 'a', quantity: 1, now });
      const stampede = Promise.allSettled(
        Array.from({ length: 30 }, (_, i) =>
          writers.reserve(ticketTypeId, { reservationId: `r${i}`, customerId: `c${i}`, quantity: 1, now }),
        ),
      );
      const release = writers.release(ticketTypeId, 'held', 'payment_failed', now);
      expect((await release).ok).toBe(true);
      const shed = (await stampede).filter((r) => r.status === 'rejected');
      expect(shed.length).toBeGreaterThan(0);
      await writers.close();
    });

    it('fails the callers of a batch whose append failed, then starts again from the stream', async () => {
      const ticketTypeId = await newInventory(subject.store, 10);
      const { store, failNextAppend } = instrumented(subject.store);
      const writers = new InventoryWriters(store);
      await writers.reserve(ticketTypeId, { reservationId: 'r0', customerId: 'c0', quantity: 1, now });
      failNextAppend();
      await expect(
        writers.reserve(ticketTypeId, { reservationId: 'r1', customerId: 'c1', quantity: 1, now }),
      ).rejects.toThrow('connection lost');
      const retried = await writers.reserve(ticketTypeId, {
        reservationId: 'r1',
        customerId: 'c1',
        quantity: 1,
        now,
      });
      expect(retried.ok && retried.events.length).toBe(1);
      expect((await figures(subject.store, ticketTypeId)).reserved).toBe(2);
      await writers.close();
    });
  });
}

describe('two hot-stream writers on one PostgreSQL store (two processes)', () => {
  let subject: StoreSubject;
  beforeAll(async () => {
    subject = await storeSubjects[1]();
  });
  afterAll(async () => subject?.teardown());

  it('resolves their conflicts: 2,000 holds on 500 seats give exactly 500', async () => {
    const ticketTypeId = await newInventory(subject.store, 500);
    let conflicts = 0;
    const processA = new InventoryWriters(subject.store, { maxBatch: 100, onConflict: () => conflicts++ });
    const processB = new InventoryWriters(subject.secondStore(), {
      maxBatch: 100,
      onConflict: () => conflicts++,
    });
    // Both load the stream before either appends, so both first appends expect the same revision.
    await Promise.all([processA.availability(ticketTypeId), processB.availability(ticketTypeId)]);
    const results = await Promise.all(
      Array.from({ length: 2000 }, (_, i) =>
        (i % 2 === 0 ? processA : processB).reserve(ticketTypeId, {
          reservationId: `r${i}`,
          customerId: `c${i}`,
          quantity: 1,
          now,
        }),
      ),
    );
    expect(results.filter((r) => r.ok && r.events.length === 1)).toHaveLength(500);
    expect(results.filter((r) => !r.ok && r.error.code === 'sold_out')).toHaveLength(1500);
    expect(conflicts).toBeGreaterThan(0);
    expect(await figures(subject.store, ticketTypeId)).toEqual({
      available: 0,
      reserved: 500,
      sold: 0,
      capacity: 500,
    });
    await Promise.all([processA.close(), processB.close()]);
  });

  it('never refuses on a stale view: a seat released by the other process is sold again', async () => {
    const ticketTypeId = await newInventory(subject.store, 1);
    const processA = new InventoryWriters(subject.store);
    const processB = new InventoryWriters(subject.secondStore());
    expect(
      (await processA.reserve(ticketTypeId, { reservationId: 'r1', customerId: 'a', quantity: 1, now })).ok,
    ).toBe(true);
    const refused = await processA.reserve(ticketTypeId, {
      reservationId: 'r2',
      customerId: 'b',
      quantity: 1,
      now,
    });
    expect(!refused.ok && refused.error.code).toBe('sold_out');
    const released = await processB.release(ticketTypeId, 'r1', 'payment_failed', now);
    expect(released.ok).toBe(true);
    const sold = await processA.reserve(ticketTypeId, {
      reservationId: 'r3',
      customerId: 'c',
      quantity: 1,
      now,
    });
    expect(sold.ok && sold.events.length).toBe(1);
    expect(await processA.reservation(ticketTypeId, 'r1')).toMatchObject({ status: 'released' });
    await Promise.all([processA.close(), processB.close()]);
  });
});
