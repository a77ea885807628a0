import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PostgresEventStore } from '../src/eventstore/postgres/postgresEventStore.js';
import { startEmbeddedPostgres } from '../src/platform/embeddedPostgres.js';
import { runMigrations } from '../src/platform/migrations.js';
import { MemoryAvailabilityCache } from '../src/projections/availabilityCache/memoryAvailabilityCache.js';
import { RedisAvailabilityCache } from '../src/projections/availabilityCache/redisAvailabilityCache.js';
import { allMigrations } from '../src/runtime.js';
import { measureRebuild, writeLog } from './rebuildThroughput.js';
import {
  esHotWriter,
  esOptimistic,
  redisLua,
  type StrategyResult,
  sqlHotRow,
} from './reservationStrategies.js';

/**
 * `npm run bench`: reservation strategies side by side on one PostgreSQL (and Redis), in one run;
 * `sql-hot-row`, the classic relational approach, is the baseline the others are measured against.
 * Uses DATABASE_URL's server when set (a scratch database is created and dropped), else an
 * embedded PostgreSQL. Prints a table and writes bench/results/<time>.json.
 */
const CAPACITY = Number(process.env.BENCH_CAPACITY ?? 20_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 40_000);
const CALLERS = Number(process.env.BENCH_CALLERS ?? 64);
/** es-optimistic collapses under contention; it runs this long at most. */
const OPTIMISTIC_SECONDS = Number(process.env.BENCH_OPTIMISTIC_SECONDS ?? 60);
/** Confirmed purchases in the rebuild log, 7 events each: about 1,000,000 events. */
const REBUILD_ORDERS = Number(process.env.BENCH_REBUILD_ORDERS ?? 143_000);

const withDatabase = async <T>(run: (url: string) => Promise<T>): Promise<T> => {
  const name = `flashtix_bench_${Date.now()}`;
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let dataDir: string | undefined;
  if (!adminUrl) {
    dataDir = await mkdtemp(path.join(tmpdir(), 'flashtix-bench-pg-'));
    const embedded = await startEmbeddedPostgres({ dataDir, persistent: false });
    adminUrl = embedded.urlFor('postgres');
    stopEmbedded = () => embedded.stop();
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    return await run(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    await stopEmbedded?.();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
};

let rebuildFigures: Awaited<ReturnType<typeof measureRebuild>> | undefined;

const main = async () => {
  const results = await withDatabase(async (url) => {
    const pool = new pg.Pool({ connectionString: url, max: CALLERS });
    pool.on('error', () => undefined);
    await runMigrations(pool, allMigrations);
    const store = new PostgresEventStore({ pool });
    const out: StrategyResult[] = [];
    out.push(await sqlHotRow(pool, CAPACITY, REQUESTS, CALLERS));
    if (process.env.REDIS_URL) out.push(await redisLua(process.env.REDIS_URL, CAPACITY, REQUESTS, CALLERS));
    else console.log('REDIS_URL is unset: the redis-lua strategy is skipped');
    out.push(await esOptimistic(store, CAPACITY, REQUESTS, CALLERS, OPTIMISTIC_SECONDS));
    out.push(await esHotWriter(store, CAPACITY, REQUESTS, CALLERS));
    const writeStarted = performance.now();
    await writeLog(store, REBUILD_ORDERS);
    console.log(
      `wrote the rebuild log (${REBUILD_ORDERS * 7} events) in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s`,
    );
    const cache = process.env.REDIS_URL
      ? new RedisAvailabilityCache(process.env.REDIS_URL, { prefix: `flashtix-bench-${Date.now()}:` })
      : new MemoryAvailabilityCache();
    rebuildFigures = await measureRebuild(pool, store, cache);
    await cache.clear();
    await cache.close();
    await store.close();
    await pool.end();
    return out;
  });
  console.log(
    `\nRebuild: ${rebuildFigures?.events} events; read models ${Math.round(rebuildFigures?.readModelsEventsPerSecond ?? 0)} events/s, availability cache (${process.env.REDIS_URL ? 'Redis' : 'in-process'}) ${Math.round(rebuildFigures?.cacheEventsPerSecond ?? 0)} events/s`,
  );
  const baseline = results[0]!;
  console.log(
    `\nReservation strategies: ${REQUESTS} requests, ${CALLERS} callers, one ticket type of ${CAPACITY} seats (${cpus().length} cores)\n`,
  );
  console.table(
    results.map((r) => ({
      strategy: r.strategy,
      requests: r.stoppedEarly ? `${r.requests} (time budget)` : r.requests,
      'holds/s': Math.round(r.holdsPerSecond),
      'requests/s': Math.round(r.requestsPerSecond),
      'p50 ms': r.p50Ms.toFixed(1),
      'p99 ms': r.p99Ms.toFixed(1),
      conflicts: r.conflicts,
      sold: r.sold,
      oversold: r.oversold,
      [`holds × ${baseline.strategy}`]: (r.holdsPerSecond / baseline.holdsPerSecond).toFixed(1),
    })),
  );
  const dir = path.join(import.meta.dirname, 'results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `reservation-strategies-${new Date().toISOString().replaceAll(':', '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ machine: { cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) }, results, rebuild: rebuildFigures }, null, 2)}\n`,
  );
  console.log(`written to ${path.relative(process.cwd(), file)}`);
};

await main();
