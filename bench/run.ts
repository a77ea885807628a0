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
import {
  httpFlashSale,
  httpFlashSaleWithWebhook,
  type SaleFigures,
  type SaleSettings,
} from './httpFlashSale.js';
import { type AppendFigures, orderAppends } from './orderAppends.js';
import { measureRebuild, type RebuildFigures, writeLog } from './rebuildThroughput.js';
import {
  esHotWriter,
  esOptimistic,
  redisLua,
  type StrategyResult,
  sqlHotRow,
} from './reservationStrategies.js';

/**
 * `npm run bench`, three parts in one run: reservation strategies side by side on one PostgreSQL
 * (and Redis), measured against `sql-hot-row`, the classic relational approach; an HTTP flash
 * sale against `flashtix start` in its own process, measured against bare fastify; and a rebuild
 * of the read models from about a million events. Uses DATABASE_URL's server when set (scratch
 * databases are created and dropped), else an embedded PostgreSQL. Prints tables and writes
 * bench/results/bench-<time>.json.
 */
const CAPACITY = Number(process.env.BENCH_CAPACITY ?? 20_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 40_000);
const CALLERS = Number(process.env.BENCH_CALLERS ?? 64);
/** es-optimistic collapses under contention; it runs this long at most. */
const OPTIMISTIC_SECONDS = Number(process.env.BENCH_OPTIMISTIC_SECONDS ?? 60);
/** Confirmed purchases in the rebuild log, 7 events each: about 1,000,000 events. */
const REBUILD_ORDERS = Number(process.env.BENCH_REBUILD_ORDERS ?? 143_000);
const HTTP_ATTEMPTS = Number(process.env.BENCH_HTTP_ATTEMPTS ?? 40_000);
const HTTP_CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 256);
/** Which parts run, e.g. `BENCH_PARTS=http,webhooks`; all four by default. */
const parts = new Set(
  (process.env.BENCH_PARTS ?? 'strategies,http,webhooks,rebuild').split(',').map((p) => p.trim()),
);

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

type Figures = {
  strategies?: StrategyResult[];
  orderAppends?: AppendFigures[];
  httpSale?: SaleFigures;
  httpSaleWithWebhook?: Omit<SaleFigures, 'bareFastify'>;
  rebuild?: RebuildFigures;
};

const printStrategies = (results: StrategyResult[]) => {
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
};

const printOrderAppends = (runs: AppendFigures[]) => {
  const baseline = runs[0]!;
  console.log(`\nOrder appends: ${baseline.appends} new streams of one event, ${CALLERS} callers\n`);
  console.table(
    runs.map((r) => ({
      'PostgreSQL store': r.mode,
      'appends/s': Math.round(r.appendsPerSecond),
      'p50 ms': r.p50Ms.toFixed(1),
      'p99 ms': r.p99Ms.toFixed(1),
      transactions: r.transactions,
      [`× ${baseline.mode}`]: (r.appendsPerSecond / baseline.appendsPerSecond).toFixed(1),
    })),
  );
};

const printHttpSale = (sale: SaleFigures) => {
  const bare = sale.bareFastify;
  console.log(
    `\nHTTP flash sale: ${sale.attempts} attempts (1–2 seats) over ${sale.connections} connections, one ticket type of ${sale.capacity} seats\n`,
  );
  console.table([
    {
      server: 'flashtix start',
      'holds/s': Math.round(sale.holdsPerSecond),
      'requests/s': Math.round(sale.requestsPerSecond),
      'p50 ms': sale.p50Ms.toFixed(1),
      'p99 ms': sale.p99Ms.toFixed(1),
      'sell-out s': sale.sellOutSeconds.toFixed(2),
      '409 rate': sale.conflictRate.toFixed(3),
      errors: sale.errors,
      oversold: sale.oversold,
      'holds/s × bare': (sale.holdsPerSecond / bare.requestsPerSecond).toFixed(2),
    },
    {
      server: 'bare fastify',
      'requests/s': Math.round(bare.requestsPerSecond),
      'p50 ms': bare.p50Ms.toFixed(1),
      'p99 ms': bare.p99Ms.toFixed(1),
      errors: bare.errors,
    },
  ]);
  console.log(
    `projection lag during the sale: p50 ${sale.projectionLagP50Ms.toFixed(0)} ms, p99 ${sale.projectionLagP99Ms.toFixed(0)} ms (${sale.lagSamples} samples); ` +
      `last hold to /availability showing 0: ${sale.lagAfterLastHoldMs.toFixed(0)} ms`,
  );
  console.log(
    `CPU: flashtix ${sale.serverCpuSeconds?.toFixed(1) ?? '?'} s${sale.backgroundCpuSeconds.length > 0 ? ` (projector and processor: ${sale.backgroundCpuSeconds.map((c) => c?.toFixed(1) ?? '?').join(' s, ')} s)` : ''}, crowd ${sale.clientCpuSeconds.toFixed(1)} s; bare fastify ${bare.serverCpuSeconds?.toFixed(1) ?? '?'} s, crowd ${bare.clientCpuSeconds.toFixed(1)} s; machine busy ${sale.machineBusy === undefined ? '?' : `${Math.round(sale.machineBusy * 100)}%`}; ` +
      `final ${JSON.stringify(sale.final)}${sale.errorSamples.length > 0 ? `; errors e.g. ${sale.errorSamples.join(' | ')}` : ''}`,
  );
};

const printWebhookSale = (sale: Omit<SaleFigures, 'bareFastify'>, plain: SaleFigures | undefined) => {
  const webhook = sale.webhook!;
  console.log(`\nThe same sale with a webhook subscribed to every order event (receiver on loopback)\n`);
  console.table([
    {
      server: 'flashtix start + webhook',
      'holds/s': Math.round(sale.holdsPerSecond),
      'p50 ms': sale.p50Ms.toFixed(1),
      'p99 ms': sale.p99Ms.toFixed(1),
      errors: sale.errors,
      oversold: sale.oversold,
      'holds/s × without': plain ? (sale.holdsPerSecond / plain.holdsPerSecond).toFixed(2) : '',
      events: `${webhook.events} of ${webhook.expected}`,
      'events/s': Math.round(webhook.eventsPerSecond),
      'drain s': webhook.drainSeconds.toFixed(1),
      duplicates: webhook.requests - webhook.events,
      'bad signatures': webhook.badSignatures,
      'out of order': webhook.outOfOrder,
    },
  ]);
  console.log(
    `CPU: flashtix ${sale.serverCpuSeconds?.toFixed(1) ?? '?'} s, crowd and receiver ${sale.clientCpuSeconds.toFixed(1)} s; projection lag p99 ${sale.projectionLagP99Ms.toFixed(0)} ms`,
  );
};

const printRebuild = (rebuild: RebuildFigures) =>
  console.log(
    `\nRebuild: ${rebuild.events} events; read models ${Math.round(rebuild.readModelsEventsPerSecond)} events/s, availability cache (${process.env.REDIS_URL ? 'Redis' : 'in-process'}) ${Math.round(rebuild.cacheEventsPerSecond)} events/s`,
  );

const strategiesAndRebuild = (figures: Figures) =>
  withDatabase(async (url) => {
    const pool = new pg.Pool({ connectionString: url, max: CALLERS });
    pool.on('error', () => undefined);
    await runMigrations(pool, allMigrations);
    const store = new PostgresEventStore({ pool });
    if (parts.has('strategies')) {
      const out: StrategyResult[] = [];
      out.push(await sqlHotRow(pool, CAPACITY, REQUESTS, CALLERS));
      if (process.env.REDIS_URL) out.push(await redisLua(process.env.REDIS_URL, CAPACITY, REQUESTS, CALLERS));
      else console.log('REDIS_URL is unset: the redis-lua strategy is skipped');
      out.push(await esOptimistic(store, CAPACITY, REQUESTS, CALLERS, OPTIMISTIC_SECONDS));
      out.push(await esHotWriter(store, CAPACITY, REQUESTS, CALLERS));
      figures.strategies = out;
      figures.orderAppends = [
        await orderAppends(pool, REQUESTS, CALLERS, false),
        await orderAppends(pool, REQUESTS, CALLERS, true),
      ];
    }
    if (parts.has('rebuild')) {
      const writeStarted = performance.now();
      await writeLog(store, REBUILD_ORDERS);
      console.log(
        `wrote the rebuild log (${REBUILD_ORDERS * 7} events) in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s`,
      );
      const cache = process.env.REDIS_URL
        ? new RedisAvailabilityCache(process.env.REDIS_URL, { prefix: `flashtix-bench-${Date.now()}:` })
        : new MemoryAvailabilityCache();
      figures.rebuild = await measureRebuild(pool, store, cache);
      await cache.clear();
      await cache.close();
    }
    await store.close();
    await pool.end();
  });

const saleSettings = (databaseUrl: string): SaleSettings => ({
  databaseUrl,
  redisUrl: process.env.REDIS_URL,
  capacity: CAPACITY,
  attempts: HTTP_ATTEMPTS,
  connections: HTTP_CONNECTIONS,
  topology: process.env.BENCH_HTTP_TOPOLOGY === 'split' ? 'split' : 'one',
});

const main = async () => {
  const figures: Figures = {};
  if (parts.has('strategies') || parts.has('rebuild')) await strategiesAndRebuild(figures);
  if (parts.has('http'))
    figures.httpSale = await withDatabase((databaseUrl) => httpFlashSale(saleSettings(databaseUrl)));
  if (parts.has('webhooks'))
    figures.httpSaleWithWebhook = await withDatabase((databaseUrl) =>
      httpFlashSaleWithWebhook(saleSettings(databaseUrl)),
    );
  if (figures.strategies) printStrategies(figures.strategies);
  if (figures.orderAppends) printOrderAppends(figures.orderAppends);
  if (figures.httpSale) printHttpSale(figures.httpSale);
  if (figures.httpSaleWithWebhook) printWebhookSale(figures.httpSaleWithWebhook, figures.httpSale);
  if (figures.rebuild) printRebuild(figures.rebuild);
  const dir = path.join(import.meta.dirname, 'results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `bench-${new Date().toISOString().replaceAll(':', '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ machine: { cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) }, ...figures }, null, 2)}\n`,
  );
  console.log(`written to ${path.relative(process.cwd(), file)}`);
};

await main();
