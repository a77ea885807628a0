import { describe, expect, it } from 'vitest';
import { readOrderView } from '../../src/commands/orderView.js';
import type { RecordedEvent } from '../../src/eventstore/eventStore.js';
import type { Projection } from '../../src/projections/projection.js';
import { ProjectionRunner } from '../../src/projections/projectionRunner.js';
import { projectionStatus } from '../../src/projections/projectionStatus.js';
import { READ_MODEL_SCHEMA, readModelTablesSql } from '../../src/projections/readModelSchema.js';
import {
  getAvailability,
  getOrder,
  getShow,
  listCustomerOrders,
  listShows,
} from '../../src/projections/readModels/queries.js';
import { READ_MODELS, readModelProjection } from '../../src/projections/readModels/readModelProjection.js';
import { replayAll } from '../support/replay.js';
import { waitFor } from '../support/waitFor.js';
import { runMixedWorkload } from '../support/workload.js';
import { useWorkloadFixture } from '../support/workloadFixture.js';

const TABLES = ['shows', 'ticket_types', 'availability', 'orders', 'payments', 'reservations'];

describe('PostgreSQL read models', () => {
  const fixture = useWorkloadFixture();
  const { pool } = fixture;
  const caughtUp = async () =>
    (await projectionStatus(pool(), fixture.subject.store, READ_MODELS)).eventsBehind === 0;

  /** Every row of every read model table in a schema, in a stable order. */
  const snapshot = async (schema: string) => {
    const tables: Record<string, unknown[]> = {};
    for (const table of TABLES)
      tables[table] = (await pool().query(`SELECT * FROM ${schema}.${table} ORDER BY 1, 2`)).rows;
    return tables;
  };

  /** A clean replay of the whole log into a fresh schema, batch by batch. */
  const replayInto = async (schema: string, pageSize = 200) => {
    await pool().query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool().query(readModelTablesSql(schema));
    const projection = { ...readModelProjection(schema), name: `replay-${schema}` };
    await replayAll(pool(), fixture.subject.store, projection, pageSize);
  };

  it('catches up with the log, reports its lag, and matches the write side', async () => {
    const before = await projectionStatus(pool(), fixture.subject.store, READ_MODELS);
    expect(before.position).toBeNull();
    expect(before.eventsBehind).toBeGreaterThan(100);
    expect(before.secondsBehind).toBeGreaterThanOrEqual(0);

    // The first run crashes in the middle of a batch, after applying part of it.
    let crashed = false;
    const real = readModelProjection();
    const crashingOnce: Projection = {
      name: real.name,
      apply: async (tx, events: readonly RecordedEvent[]) => {
        if (!crashed && events.length > 4) {
          crashed = true;
          await real.apply(tx, events.slice(0, Math.floor(events.length / 2)));
          throw new Error('crash in the middle of a batch');
        }
        await real.apply(tx, events);
      },
    };
    const errors: unknown[] = [];
    const runner = new ProjectionRunner({
      pool: pool(),
      store: fixture.subject.store,
      projection: crashingOnce,
      batchSize: 50,
      retryMs: 50,
      onError: (e) => errors.push(e),
    });
    runner.start();
    await waitFor('the read models to catch up', caughtUp);
    await runner.stop();
    expect(crashed).toBe(true);
    expect(errors.map(String)).toEqual(['Error: crash in the middle of a batch']);

    // Nothing lost, nothing applied twice: the same rows as a clean replay.
    await replayInto('read_models_replay');
    expect(await snapshot(READ_MODEL_SCHEMA)).toEqual(await snapshot('read_models_replay'));
    // Batches are folded per kind; one event at a time must come to the same rows.
    await replayInto('read_models_one_by_one', 1);
    expect(await snapshot('read_models_one_by_one')).toEqual(await snapshot('read_models_replay'));
    // The whole log as one batch: every order, payment and reservation made and ended in it.
    await replayInto('read_models_one_batch', 1_000_000);
    expect(await snapshot('read_models_one_batch')).toEqual(await snapshot('read_models_replay'));

    for (const ticketTypeId of fixture.workload.ticketTypeIds) {
      const row = (
        await pool().query(
          `SELECT available, reserved, sold FROM ${READ_MODEL_SCHEMA}.availability WHERE ticket_type_id = $1`,
          [ticketTypeId],
        )
      ).rows[0];
      expect(row).toEqual(await fixture.h.figures(ticketTypeId));
    }
    for (const orderId of fixture.workload.orderIds) {
      const view = (await readOrderView(fixture.subject.store, orderId))!;
      const { createdAt: _c, ...projected } = (await getOrder(pool(), orderId))!;
      const { createdAt: _v, ...expected } = view;
      expect(projected).toEqual(expected);
    }
    const statuses = new Set(
      (await Promise.all(fixture.workload.orderIds.map((id) => getOrder(pool(), id)))).map((o) => o!.status),
    );
    expect([...statuses].sort()).toEqual(['cancelled', 'confirmed', 'rejected', 'reserved']);
    const after = await projectionStatus(pool(), fixture.subject.store, READ_MODELS);
    expect(after).toMatchObject({ eventsBehind: 0, secondsBehind: 0 });
  });

  it('answers the catalog, availability and order queries', async () => {
    const first = await listShows(pool(), { limit: 1 });
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).not.toBeNull();
    const second = await listShows(pool(), { limit: 1, cursor: first.nextCursor! });
    expect(second.items.map((s) => s.showId)).not.toEqual(first.items.map((s) => s.showId));
    expect(new Set([...first.items, ...second.items].map((s) => s.showId))).toEqual(
      new Set(fixture.workload.showIds),
    );

    const show = (await getShow(pool(), fixture.workload.showIds[0]!))!;
    expect(show).toMatchObject({ currency: 'EUR', holdSeconds: 60, salesClosed: false });
    expect(show.ticketTypes.map((t) => [t.priceCents, t.capacity, t.maxPerCustomer])).toEqual([
      [4500, 40, 4],
      [2500, 30, 10],
    ]);
    expect((await getShow(pool(), fixture.workload.showIds[1]!))?.salesClosed).toBe(true);

    const availability = (await getAvailability(pool(), fixture.workload.showIds[0]!))!;
    expect(availability.ticketTypes.map((t) => t.ticketTypeId)).toEqual(
      show.ticketTypes.map((t) => t.ticketTypeId).sort(),
    );
    for (const t of availability.ticketTypes) expect(t.available + t.reserved + t.sold).toBe(t.capacity);

    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listCustomerOrders(pool(), 'customer-0', { limit: 2, cursor });
      all.push(...page.items.map((o) => o.createdAt));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(all.length).toBe(fixture.workload.orderIds.filter((_, i) => i % 7 === 0).length);
    expect([...all].sort().reverse()).toEqual(all);
  });

  it('runs one instance at a time; a standby takes over when the active one stops', async () => {
    const runners = [1, 2].map(
      () =>
        new ProjectionRunner({
          pool: pool(),
          store: fixture.subject.store,
          projection: readModelProjection(),
          retryMs: 50,
        }),
    );
    const holders = async () =>
      (
        await pool().query(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = (hashtextextended('projection:read-models', 0) & 4294967295)::bigint::oid",
        )
      ).rows[0].n as number;
    // The first takes the lock before the second starts, so it is the one stopped below.
    runners[0]!.start();
    await waitFor('the first runner to take the lock', async () => (await holders()) === 1);
    runners[1]!.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(await holders()).toBe(1);
    await runners[0]!.stop();
    const { showIds } = await runMixedWorkload(fixture.h, 6);
    await waitFor(
      'the standby to apply new events',
      async () => (await getShow(pool(), showIds[0]!)) !== undefined && (await caughtUp()),
    );
    expect(await holders()).toBe(1);
    await runners[1]!.stop();
  });
});
