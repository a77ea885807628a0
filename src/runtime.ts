import path from 'node:path';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { CustomerAccounts } from './accounts/customerAccounts.js';
import { accountMigrations } from './accounts/schema.js';
import { buildApi } from './api/app.js';
import { InventoryWriters } from './commands/inventoryWriters.js';
import type { PurchaseContext } from './commands/purchaseContext.js';
import { ShowCatalog } from './commands/showCatalog.js';
import { EsdbEventStore } from './eventstore/esdb/esdbEventStore.js';
import type { EventStore } from './eventstore/eventStore.js';
import { countPostgresEvents, PostgresEventStore } from './eventstore/postgres/postgresEventStore.js';
import { eventStoreMigrations } from './eventstore/postgres/schema.js';
import { CustomerDispatcher } from './notifications/customerDispatcher.js';
import { notificationReactor } from './notifications/notificationReactor.js';
import { logNotifier } from './notifications/notifier.js';
import { notificationMigrations } from './notifications/schema.js';
import { WebhookDispatcher } from './notifications/webhooks/webhookDispatcher.js';
import { PostgresAdvisoryLocks } from './platform/advisoryLocks.js';
import type { Config } from './platform/config.js';
import { openDatabase } from './platform/database.js';
import type { Logger } from './platform/logger.js';
import { MeteredEventStore } from './platform/metrics/meteredEventStore.js';
import { Metrics } from './platform/metrics/metrics.js';
import { type Migration, runMigrations } from './platform/migrations.js';
import { createPostgresPool } from './platform/postgres.js';
import { readOrCreateSecret } from './platform/secretFile.js';
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
  ...accountMigrations,
  ...notificationMigrations,
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
  metrics: Metrics;
  /** How many events the log holds, when the store can say cheaply. */
  countEvents: (() => Promise<number>) | undefined;
  /** Where an admin can log in, when one was set up at start-up. */
  admin: AdminLogin | undefined;
  shutdown: Shutdown;
};

/** `passwordFile`: where a generated password is kept (embedded default only). */
export type AdminLogin = { email: string; passwordFile?: string };

const DEFAULT_ADMIN_EMAIL = 'admin@flashtix.local';

/**
 * The admin account: from ADMIN_EMAIL/ADMIN_PASSWORD when set; on the embedded default, one
 * whose password is generated once into DATA_DIR, so that a fresh `npm start` can be used at once.
 */
const setUpAdmin = async (config: Config, pool: pg.Pool): Promise<AdminLogin | undefined> => {
  const accounts = new CustomerAccounts(pool);
  if (config.admin) {
    await accounts.ensureAdmin(config.admin.email, config.admin.password);
    return { email: config.admin.email };
  }
  if (config.databaseUrl) return undefined;
  const passwordFile = path.resolve(config.dataDir, 'admin-password');
  await accounts.ensureAdmin(DEFAULT_ADMIN_EMAIL, await readOrCreateSecret(passwordFile, 18));
  return { email: DEFAULT_ADMIN_EMAIL, passwordFile };
};

/**
 * The composition root: opens the database (embedded when none is configured), migrates it,
 * and builds the event store the configuration names and the purchase use cases' context.
 * Everything opened is closed by `shutdown`, last opened first.
 */
export const openRuntime = async (config: Config, log: Logger): Promise<Runtime> => {
  const shutdown = new Shutdown((step, error) => log.error({ err: error, step }, 'shutdown step failed'));
  try {
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
    const admin = await setUpAdmin(config, pool);
    const metrics = new Metrics({ processMetrics: true });
    const onBackgroundError = (error: unknown) =>
      log.warn({ err: error }, 'event store subscription or listener failed; retrying');
    const eventStore = new MeteredEventStore(
      config.eventStore === 'esdb' && config.eventStoreUrl
        ? new EsdbEventStore({ connectionString: config.eventStoreUrl, onBackgroundError })
        : new PostgresEventStore({ pool, onBackgroundError }),
      metrics,
    );
    // Counting the log is cheap in PostgreSQL; EventStoreDB has no count, so progress shows no total.
    const countEvents = config.eventStore === 'postgres' ? () => countPostgresEvents(pool) : undefined;
    shutdown.add('event store', () => eventStore.close());
    const writers = new InventoryWriters(eventStore, {
      onBatch: (commands) => metrics.writerBatchSize.observe(commands),
      onConflict: () => metrics.writerRetries.inc(),
    });
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
      metrics,
      admin,
      countEvents,
      shutdown,
    };
  } catch (error) {
    await shutdown.run();
    throw error;
  }
};

/**
 * The processor role: the purchase process manager and hold expiry, each single-instance, and
 * the delivery of customer notifications and webhooks (shared by every processor).
 */
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
  const notifications = new CustomerDispatcher({
    pool: runtime.pool,
    notifier: logNotifier(runtime.log),
    onError: onError('notification dispatch'),
  });
  const webhooks = new WebhookDispatcher({
    pool: runtime.pool,
    ...runtime.config.webhooks,
    onAttempt: (attempt) => {
      runtime.metrics.webhookAttempts.inc({ status: attempt.status });
      // The endpoint's URL stays out of the logs: it may carry a token of the receiver's.
      if (attempt.status !== 'delivered') runtime.log.warn({ webhook: attempt }, 'webhook delivery failed');
    },
    onError: onError('webhook dispatch'),
  });
  manager.start();
  expiry.start();
  notifications.start();
  webhooks.start();
  runtime.shutdown.add('process manager', () => manager.stop());
  runtime.shutdown.add('hold expiry', () => expiry.stop());
  runtime.shutdown.add('notification dispatch', () => notifications.stop());
  runtime.shutdown.add('webhook dispatch', () => webhooks.stop());
};

/**
 * The projector role: the PostgreSQL read models, the availability cache and the notification
 * reactor's outbox, each single-instance.
 */
export const startProjector = async (runtime: Runtime): Promise<void> => {
  // An in-process cache starts empty with every process: it replays the log from the start.
  if (runtime.availabilityCache instanceof MemoryAvailabilityCache)
    await writeCheckpoint(runtime.pool, AVAILABILITY_CACHE, 'start');
  for (const projection of [
    readModelProjection(),
    availabilityCacheProjection(runtime.availabilityCache),
    notificationReactor(),
  ]) {
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

/** What a caller may set differently from the configuration (the demo: any free port, no limits). */
export type ApiOverrides = { host?: string; port?: number; rateLimits?: Config['rateLimits'] };

/** The JWT key: JWT_SECRET, or one generated once into DATA_DIR. */
export const jwtSecretOf = async (config: Config): Promise<string> =>
  config.jwtSecret ?? readOrCreateSecret(path.resolve(config.dataDir, 'jwt-secret'), 48);

/** The api role: the HTTP API on HOST:PORT; returns the address it listens on. */
export const startApi = async (runtime: Runtime, overrides: ApiOverrides = {}): Promise<string> => {
  const { config } = runtime;
  let redis: Redis | undefined;
  if (config.redisUrl) {
    // Fails fast while Redis is away (rate limits then let requests through) instead of queueing.
    // Auto-pipelining sends the counters of requests that arrive together in one write.
    const client = new Redis(config.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      enableAutoPipelining: true,
    });
    client.on('error', (error) => runtime.log.debug({ err: error }, 'rate-limit store unavailable'));
    runtime.shutdown.add('rate-limit store', async () => client.disconnect());
    redis = client;
  }
  const api = await buildApi({
    pool: runtime.pool,
    store: runtime.eventStore,
    cache: runtime.availabilityCache,
    cacheIsShared: runtime.availabilityCache instanceof RedisAvailabilityCache,
    purchase: runtime.purchase,
    jwtSecret: await jwtSecretOf(config),
    tokenTtlSeconds: config.jwtTtlSeconds,
    metrics: runtime.metrics,
    rateLimits: overrides.rateLimits ?? config.rateLimits,
    redis,
    corsOrigins: config.corsOrigins,
    trustProxy: config.trustProxy,
    logger: runtime.log,
  });
  const address = await api.listen({
    host: overrides.host ?? config.host,
    port: overrides.port ?? config.port,
  });
  runtime.shutdown.add('http api', () => api.close());
  return address;
};
