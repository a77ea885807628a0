import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countPostgresEvents } from '../../src/eventstore/postgres/postgresEventStore.js';
import { availabilityCacheProjection } from '../../src/projections/availabilityCache/availabilityCacheProjection.js';
import { MemoryAvailabilityCache } from '../../src/projections/availabilityCache/memoryAvailabilityCache.js';
import { ProjectionRunner } from '../../src/projections/projectionRunner.js';
import { projectionStatus } from '../../src/projections/projectionStatus.js';
import { READ_MODEL_SCHEMA, readModelTablesSql } from '../../src/projections/readModelSchema.js';
import { READ_MODELS, readModelProjection } from '../../src/projections/readModels/readModelProjection.js';
import { type RebuildProgress, rebuild } from '../../src/projections/rebuild.js';
import { type Harness, purchaseHarness } from '../support/purchaseHarness.js';
import { replayAll } from '../support/replay.js';
import { postgresSubject, type StoreSubject } from '../support/stores.js';
import { waitFor } from '../support/waitFor.js';
import { runMixedWorkload } from '../support/workload.js';

const TABLES = ['shows', 'ticket_types', 'availability', 'orders', 'payments', 'reservations'];

describe('rebuild', () => {
  let subject: StoreSubject;
  let h: Harness;
  beforeAll(async () => {
    subject = await postgresSubject();
    h = purchaseHarness(subject);
    await runMixedWorkload(h);
  });
  afterAll(async () => {
    await h?.close();
    await subject?.teardown();
  });
  const pool = () => subject.database!.pool;

  const snapshot = async (schema: string) => {
    const tables: Record<string, unknown[]> = {};
    for (const table of TABLES)
      tables[table] = (await pool().query(`SELECT * FROM ${schema}.${table} ORDER BY 1, 2`)).rows;
    return tables;
  };

  it('replays the log into fresh tables and swaps them in while the live runner and writers go on', async () => {
    const cache = new MemoryAvailabilityCache();
    const runners = [readModelProjection(), availabilityCacheProjection(cache)].map(
      (projection) =>
        new ProjectionRunner({ pool: pool(), store: subject.store, projection, batchSize: 20, retryMs: 20 }),
    );
    for (const runner of runners) runner.start();
    const caughtUp = async () =>
      (await projectionStatus(pool(), subject.store, READ_MODELS)).eventsBehind === 0 &&
      (await projectionStatus(pool(), subject.store, 'availability-cache')).eventsBehind === 0;
    await waitFor('the live projections', caughtUp);
    // Damage the live tables, as a bug in an earlier projection would have: the rebuild mends it.
    await pool().query(`UPDATE ${READ_MODEL_SCHEMA}.availability SET sold = sold + 100`);

    const progress: RebuildProgress[] = [];
    const [results] = await Promise.all([
      rebuild(
        { pool: pool(), store: subject.store, cache, countEvents: () => countPostgresEvents(pool()) },
        undefined,
        (p) => progress.push(p),
      ),
      runMixedWorkload(h, 12),
    ]);
    expect(results.map((r) => r.projection)).toEqual(['read-models', 'availability-cache']);
    for (const r of results) expect(r.events).toBeGreaterThan(100);
    const readModelProgress = progress.filter((p) => p.projection === 'read-models');
    expect(readModelProgress.length).toBeGreaterThan(0);
    expect(readModelProgress.at(-1)!.done).toBeGreaterThanOrEqual(readModelProgress[0]!.total);
    expect([...readModelProgress.map((p) => p.done)].sort((a, b) => a - b)).toEqual(
      readModelProgress.map((p) => p.done),
    );

    await waitFor('the live projections after the rebuild', caughtUp);
    for (const runner of runners) await runner.stop();

    // The swapped-in tables equal a clean replay of the whole log, and nothing is left behind.
    await pool().query('DROP SCHEMA IF EXISTS clean CASCADE');
    await pool().query(readModelTablesSql('clean'));
    const clean = { ...readModelProjection('clean'), name: 'clean' };
    await replayAll(pool(), subject.store, clean, 300);
    expect(await snapshot(READ_MODEL_SCHEMA)).toEqual(await snapshot('clean'));
    const schemas = await pool().query(
      "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'read_models%' ORDER BY 1",
    );
    expect(schemas.rows.map((r) => r.nspname)).toEqual(['read_models']);
    const cached = (
      await pool().query(
        `SELECT ticket_type_id, available, reserved, sold FROM ${READ_MODEL_SCHEMA}.availability`,
      )
    ).rows;
    for (const row of cached) {
      const show = (
        await pool().query(
          `SELECT show_id FROM ${READ_MODEL_SCHEMA}.availability WHERE ticket_type_id = $1`,
          [row.ticket_type_id],
        )
      ).rows[0].show_id;
      const figures = (await cache.get(show))!.find((f) => f.ticketTypeId === row.ticket_type_id)!;
      expect({ available: figures.available, reserved: figures.reserved, sold: figures.sold }).toEqual({
        available: row.available,
        reserved: row.reserved,
        sold: row.sold,
      });
    }
  });
});
