import { randomUUID } from 'node:crypto';
import { InventoryWriters } from '../../src/commands/inventoryWriters.js';
import { loadAggregate } from '../../src/commands/loadAggregate.js';
import type { PurchaseContext } from '../../src/commands/purchaseContext.js';
import { scheduleShow } from '../../src/commands/scheduleShow.js';
import { ShowCatalog } from '../../src/commands/showCatalog.js';
import { inventoryDecider, inventoryStreamName } from '../../src/domain/inventory/decider.js';
import type { EventStore } from '../../src/eventstore/eventStore.js';
import { PostgresAdvisoryLocks } from '../../src/platform/advisoryLocks.js';
import { InProcessLocks } from '../../src/platform/inProcessLocks.js';
import { createPostgresPool } from '../../src/platform/postgres.js';
import {
  type GatewayLedger,
  MemoryGatewayLedger,
  PostgresGatewayLedger,
  SimulatedPaymentGateway,
} from '../../src/process/simulatedPaymentGateway.js';
import type { StoreSubject } from './stores.js';

export const t0 = new Date('2026-12-01T10:00:00.000Z');
export const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

export type Harness = {
  ctx: PurchaseContext;
  ledger: GatewayLedger;
  /** A context as another process would build it on the same stores. */
  otherProcess(options?: Partial<PurchaseContext>): PurchaseContext;
  newShow(
    ticketTypes: { capacity: number; priceCents?: number; maxPerCustomer?: number }[],
    holdSeconds?: number,
  ): Promise<{ showId: string; ticketTypeIds: string[] }>;
  figures(ticketTypeId: string): Promise<{ available: number; reserved: number; sold: number }>;
  close(): Promise<void>;
};

/** The purchase use cases wired to a store subject: PostgreSQL books and locks when it has a database. */
export const purchaseHarness = (subject: StoreSubject, options: { latencyMs?: number } = {}): Harness => {
  const lockPool = subject.database ? createPostgresPool(subject.database.url, { max: 10 }) : undefined;
  const ledger = subject.database
    ? new PostgresGatewayLedger(subject.database.pool)
    : new MemoryGatewayLedger();
  const build = (store: EventStore, extra: Partial<PurchaseContext> = {}): PurchaseContext => ({
    store,
    writers: new InventoryWriters(store),
    catalog: new ShowCatalog(store),
    gateway: new SimulatedPaymentGateway({ ledger, latencyMs: options.latencyMs }),
    locks: lockPool ? new PostgresAdvisoryLocks(lockPool) : new InProcessLocks(),
    ...extra,
  });
  const ctx = build(subject.store);
  const contexts = [ctx];
  return {
    ctx,
    ledger,
    otherProcess: (extra) => {
      const other = build(subject.secondStore(), extra);
      contexts.push(other);
      return other;
    },
    newShow: async (ticketTypes, holdSeconds = 600) => {
      const showId = randomUUID();
      const ticketTypeIds = ticketTypes.map(() => randomUUID());
      const result = await scheduleShow(subject.store, {
        showId,
        name: 'Test show',
        venue: 'Test venue',
        startsAt: at(86_400).toISOString(),
        salesOpenAt: t0.toISOString(),
        currency: 'EUR',
        holdSeconds,
        ticketTypes: ticketTypes.map((t, i) => ({
          ticketTypeId: ticketTypeIds[i]!,
          name: `Type ${i}`,
          priceCents: t.priceCents ?? 5000,
          capacity: t.capacity,
          maxPerCustomer: t.maxPerCustomer ?? 10,
        })),
        now: at(-60),
      });
      if (!result.ok) throw result.error;
      return { showId, ticketTypeIds };
    },
    figures: async (ticketTypeId) => {
      const { state } = await loadAggregate(
        subject.store,
        inventoryDecider,
        inventoryStreamName(ticketTypeId),
      );
      if (state.status !== 'initialized') throw new Error('no inventory');
      if (state.available + state.reserved + state.sold !== state.definition.capacity)
        throw new Error('seats not conserved');
      return { available: state.available, reserved: state.reserved, sold: state.sold };
    },
    close: async () => {
      await Promise.all(contexts.map((c) => c.writers.close()));
      await lockPool?.end();
    },
  };
};
