import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { createTestDatabase, type TestDatabase } from '../../test/support/testDatabase.js';
import type { InventoryCommand } from '../domain/inventory/commands.js';
import { inventoryDecider, inventoryStreamName } from '../domain/inventory/decider.js';
import type { EventStore } from '../eventstore/eventStore.js';
import { MemoryEventStore } from '../eventstore/memory/memoryEventStore.js';
import { PostgresEventStore } from '../eventstore/postgres/postgresEventStore.js';
import { eventStoreMigrations } from '../eventstore/postgres/schema.js';
import { runMigrations } from '../platform/migrations.js';
import { ConcurrencyRetriesExhaustedError, handleCommand } from './handleCommand.js';
import { loadAggregate } from './loadAggregate.js';

const now = new Date('2026-12-01T10:00:00.000Z');
const showId = randomUUID();

const initialize = (ticketTypeId: string, capacity: number): InventoryCommand => ({
  type: 'InitializeInventory',
  data: {
    ticketTypeId,
    showId,
    capacity,
    maxPerCustomer: 4,
    holdSeconds: 600,
    salesOpenAt: now.toISOString(),
    now,
  },
});
const reserve = (reservationId: string, customerId: string, quantity = 1): InventoryCommand => ({
  type: 'ReserveSeats',
  data: { reservationId, customerId, quantity, now },
});

type Subject = { store: EventStore; teardown(): Promise<void> };

const suite = (name: string, create: () => Promise<Subject>) =>
  describe(`handleCommand on the ${name} store`, () => {
    let subject: Subject;
    beforeAll(async () => {
      subject = await create();
    });
    afterAll(async () => subject?.teardown());

    const newInventory = async (capacity: number) => {
      const ticketTypeId = randomUUID();
      const stream = inventoryStreamName(ticketTypeId);
      const result = await handleCommand(
        subject.store,
        inventoryDecider,
        stream,
        initialize(ticketTypeId, capacity),
      );
      expect(result.ok).toBe(true);
      return stream;
    };

    it('appends the decided events and returns them with the new state and revision', async () => {
      const stream = await newInventory(10);
      const result = await handleCommand(subject.store, inventoryDecider, stream, reserve('r1', 'alice', 3));
      if (!result.ok) throw result.error;
      expect(result.events.map((e) => e.type)).toEqual(['SeatsReserved']);
      expect(result.revision).toBe(1n);
      expect(result.position).toBeDefined();
      expect(result.state.status === 'initialized' && result.state.available).toBe(7);
      const { events } = await subject.store.readStream(stream);
      expect(events.map((e) => e.type)).toEqual(['InventoryInitialized', 'SeatsReserved']);
    });

    it('returns the domain error and writes nothing', async () => {
      const stream = await newInventory(2);
      const result = await handleCommand(subject.store, inventoryDecider, stream, reserve('r1', 'alice', 3));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('sold_out');
      expect((await subject.store.readStream(stream)).revision).toBe(0n);
    });

    it('appends nothing for an idempotent repeat', async () => {
      const stream = await newInventory(10);
      await handleCommand(subject.store, inventoryDecider, stream, reserve('r1', 'alice'));
      const again = await handleCommand(subject.store, inventoryDecider, stream, reserve('r1', 'alice'));
      expect(again).toMatchObject({ ok: true, events: [], revision: 1n });
      expect((await subject.store.readStream(stream)).revision).toBe(1n);
    });

    it('converges under 60 concurrent commands on one stream and never oversells', async () => {
      const stream = await newInventory(40);
      let conflicts = 0;
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          // Sixty writers on one stream is the hot-stream writer's job; here enough retries
          // are allowed for plain optimistic concurrency to get every one of them through.
          handleCommand(subject.store, inventoryDecider, stream, reserve(`r${i}`, `customer-${i}`), {
            maxRetries: 200,
            onConflict: () => conflicts++,
          }),
        ),
      );
      const reserved = results.filter((r) => r.ok && r.events.length === 1).length;
      const soldOut = results.filter((r) => !r.ok && r.error.code === 'sold_out').length;
      expect(reserved).toBe(40);
      expect(soldOut).toBe(20);
      expect(conflicts).toBeGreaterThan(0);
      const { state, revision } = await loadAggregate(subject.store, inventoryDecider, stream);
      if (state.status !== 'initialized') throw new Error('lost the inventory');
      expect(revision).toBe(40n);
      expect([state.available, state.reserved, state.sold]).toEqual([0, 40, 0]);
      expect(state.available + state.reserved + state.sold).toBe(state.definition.capacity);
    });

    it('reserves once for 20 concurrent duplicates of one reservation', async () => {
      const stream = await newInventory(10);
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          handleCommand(subject.store, inventoryDecider, stream, reserve('same', 'alice', 2)),
        ),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      expect(results.filter((r) => r.ok && r.events.length === 1)).toHaveLength(1);
      const { events } = await subject.store.readStream(stream);
      expect(events.filter((e) => e.type === 'SeatsReserved')).toHaveLength(1);
    });

    it('gives up with ConcurrencyRetriesExhaustedError when retries run out', async () => {
      const stream = await newInventory(100);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          handleCommand(subject.store, inventoryDecider, stream, reserve(`r${i}`, `c${i}`), {
            maxRetries: 0,
          }),
        ),
      );
      const gaveUp = results.filter((r) => r.status === 'rejected');
      expect(gaveUp.length).toBeGreaterThan(0);
      for (const r of gaveUp) expect(r.reason).toBeInstanceOf(ConcurrencyRetriesExhaustedError);
      const { state } = await loadAggregate(subject.store, inventoryDecider, stream);
      if (state.status !== 'initialized') throw new Error('lost the inventory');
      expect(state.reserved).toBe(10 - gaveUp.length);
    });

    it('refuses to decide on a stream holding an event it cannot read', async () => {
      const stream = await newInventory(10);
      await subject.store.appendToStream(stream, [{ type: 'SeatsReserved', data: { reservationId: 'r1' } }]);
      await expect(
        handleCommand(subject.store, inventoryDecider, stream, reserve('r2', 'bob')),
      ).rejects.toBeInstanceOf(ZodError);
      expect((await subject.store.readStream(stream)).revision).toBe(1n);
    });
  });

suite('memory', async () => {
  const store = new MemoryEventStore();
  return { store, teardown: () => store.close() };
});

suite('postgres', async () => {
  const database: TestDatabase = await createTestDatabase();
  await runMigrations(database.pool, eventStoreMigrations);
  const store = new PostgresEventStore({ pool: database.pool });
  return {
    store,
    teardown: async () => {
      await store.close();
      await database.drop();
    },
  };
});
