import type pg from 'pg';
import { buildApi } from './api/app.js';
import { InventoryWriters } from './commands/inventoryWriters.js';
import type { PurchaseContext } from './commands/purchaseContext.js';
import { ShowCatalog } from './commands/showCatalog.js';
import type { EventStore } from './eventstore/eventStore.js';
import { PostgresEventStore } from './eventstore/postgres/postgresEventStore.js';
import { eventStoreMigrations } from './eventstore/postgres/schema.js';
import { PostgresAdvisoryLocks } from './platform/advisoryLocks.js';
import type { Config } from './platform/config.js';
import { openDatabase } from './platform/database.js';
import type { Logger } from './platform/logger.js';
import { type Migration, runMigrations } from './platform/migrations.js';
import { createPostgresPool } from './platform/postgres.js';
import { Shutdown } from './platform/shutdown.js';
import { HoldExpiry } from './process/holdExpiry.js';
import { PurchaseProcessManager } from './process/purchaseProcessManager.js';
import { processMigrations } from './process/schema.js';
import { PostgresGatewayLedger, SimulatedPaymentGateway } from './process/simulatedPaymentGateway.js';
import type { AvailabilityCache } from './projections/availabilityCache/availabilityCache.js';
import {
  AVAILABILITY_CACHE,
  availabilityCacheProjection,
} from './projections/availabilityCache/availabilityCacheProjection.js';
import { MemoryAvailabilityCache } from './projections/availabilityCache/memoryAvailabilityCache.js';
import { RedisAvailabilityCache } from './projections/availabilityCache/redisAvailabilityCache.js';
import { writeCheckpoint } from './projections/checkpoints.js';
import { ProjectionRunner } from './projections/projectionRunner.js';
import { projectionMigrations } from './projections/readModelSchema.js';
import { readModelProjection } from './projections/readModels/readModelProjection.js';

/** Every migration of the product, in the order they apply. */
export const allMigrations: readonly Migration[] = [
  ...eventStoreMigrations,
  ...processMigrations,
  ...projectionMigrations,
];

export type Runtime = {
  config: Config;
  log: Logger;
  pool: pg.Pool;
  eventStore: EventStore;
  purchase: PurchaseContext;
  /** Redis when REDIS_URL is set, else in this process (the embedded default runs every role in one). */
  availabilityCache: AvailabilityCache;
  databaseUrl: string;
  shutdown: Shutdown;
};

/**
 * The composition root: opens the database (embedded when none is configured), migrates it,
 * and builds the event store the configuration names and the purchase use cases' context.
 * Everything opened is closed by `shutdown`, last opened first.
 */
export const openRuntime = async (config: Config, log: Logger): Promise<Runtime> => {
  const shutdown = new Shutdown((step, error) => log.error({ err: error, step }, 'shutdown step failed'));
  try {
    if (config.eventStore === 'esdb')
      throw new Error(
        'EVENT_STORE=esdb: the EventStoreDB adapter is not part of this build yet; use postgres',
      );
    const database = await openDatabase(config, log);
    shutdown.add('database', () => database.stop());
    const onIdleError = (error: Error) =>
      shutdown.started ? undefined : log.warn({ err: error }, 'idle PostgreSQL connection failed');
    const pool = createPostgresPool(database.url, { max: config.databasePoolSize, onIdleError });
    shutdown.add('postgres pool', () => pool.end());
    // Lock holders wait on this pool, never on the one their work needs.
    const lockPool = createPostgresPool(database.url, { max: 10, onIdleError });
    shutdown.add('lock pool', () => lockPool.end());
    const applied = await runMigrations(pool, allMigrations);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
    const eventStore = new PostgresEventStore({
      pool,
      onBackgroundError: (error) =>
        log.warn({ err: error }, 'event store subscription or listener failed; retrying'),
    });
    shutdown.add('event store', () => eventStore.close());
    const writers = new InventoryWriters(eventStore);
    shutdown.add('inventory writers', () => writers.close());
    const purchase: PurchaseContext = {
      store: eventStore,
      writers,
      catalog: new ShowCatalog(eventStore),
      gateway: new SimulatedPaymentGateway({
        ledger: new PostgresGatewayLedger(pool),
        latencyMs: config.paymentGatewayLatencyMs,
      }),
      locks: new PostgresAdvisoryLocks(lockPool),
    };
    const availabilityCache = config.redisUrl
      ? new RedisAvailabilityCache(config.redisUrl)
      : new MemoryAvailabilityCache();
    shutdown.add('availability cache', () => availabilityCache.close());
    return {
      config,
      log,
      pool,
      eventStore,
      purchase,
      availabilityCache,
      databaseUrl: database.url,
      shutdown,
    };
  } catch (error) {
    await shutdown.run();
    throw error;
  }
};

/** The processor role: the purchase process manager and hold expiry, each single-instance. */
export const startProcessor = (runtime: Runtime): void => {
  const onError = (what: string) => (error: unknown) =>
    runtime.log.error({ err: error }, `${what} failed; retrying`);
  const manager = new PurchaseProcessManager({
    ctx: runtime.purchase,
    pool: runtime.pool,
    onError: onError('process manager'),
  });
  const expiry = new HoldExpiry({
    ctx: runtime.purchase,
    pool: runtime.pool,
    intervalMs: runtime.config.holdExpiryIntervalMs,
    graceMs: runtime.config.holdExpiryGraceMs,
    paymentSettleMs: runtime.config.paymentSettleMs,
    onError: onError('hold expiry'),
  });
  manager.start();
  expiry.start();
  runtime.shutdown.add('process manager', () => manager.stop());
  runtime.shutdown.add('hold expiry', () => expiry.stop());
};

/** The projector role: the PostgreSQL read models and the availability cache, each single-instance. */
export const startProjector = async (runtime: Runtime): Promise<void> => {
  // An in-process cache starts empty with every process: it replays the log from the start.
  if (runtime.availabilityCache instanceof MemoryAvailabilityCache)
    await writeCheckpoint(runtime.pool, AVAILABILITY_CACHE, 'start');
  for (const projection of [readModelProjection(), availabilityCacheProjection(runtime.availabilityCache)]) {
    const runner = new ProjectionRunner({
      pool: runtime.pool,
      store: runtime.eventStore,
      projection,
      onError: (error) =>
        runtime.log.error({ err: error, projection: projection.name }, 'projection failed; retrying'),
    });
    runner.start();
    runtime.shutdown.add(`projection ${projection.name}`, () => runner.stop());
  }
};

/** The api role: the HTTP API on HOST:PORT; returns the address it listens on. */
export const startApi = async (runtime: Runtime): Promise<string> => {
  const api = await buildApi({
    pool: runtime.pool,
    store: runtime.eventStore,
    cache: runtime.availabilityCache,
    cacheIsShared: runtime.availabilityCache instanceof RedisAvailabilityCache,
    logger: runtime.log,
  });
  const address = await api.listen({ host: runtime.config.host, port: runtime.config.port });
  runtime.shutdown.add('http api', () => api.close());
  return address;
};
