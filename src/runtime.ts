import type pg from 'pg';
import type { EventStore } from './eventstore/eventStore.js';
import { PostgresEventStore } from './eventstore/postgres/postgresEventStore.js';
import { eventStoreMigrations } from './eventstore/postgres/schema.js';
import type { Config } from './platform/config.js';
import { openDatabase } from './platform/database.js';
import type { Logger } from './platform/logger.js';
import { type Migration, runMigrations } from './platform/migrations.js';
import { createPostgresPool } from './platform/postgres.js';
import { Shutdown } from './platform/shutdown.js';
import { processMigrations } from './process/schema.js';

/** Every migration of the product, in the order they apply. */
export const allMigrations: readonly Migration[] = [...eventStoreMigrations, ...processMigrations];

export type Runtime = {
  config: Config;
  log: Logger;
  pool: pg.Pool;
  eventStore: EventStore;
  databaseUrl: string;
  shutdown: Shutdown;
};

/**
 * The composition root: opens the database (embedded when none is configured), migrates it,
 * and builds the event store the configuration names. Everything opened is closed by `shutdown`.
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
    const pool = createPostgresPool(database.url, {
      max: config.databasePoolSize,
      onIdleError: (error) =>
        shutdown.started ? undefined : log.warn({ err: error }, 'idle PostgreSQL connection failed'),
    });
    shutdown.add('postgres pool', () => pool.end());
    const applied = await runMigrations(pool, allMigrations);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
    const eventStore = new PostgresEventStore({ pool });
    shutdown.add('event store', () => eventStore.close());
    return { config, log, pool, eventStore, databaseUrl: database.url, shutdown };
  } catch (error) {
    await shutdown.run();
    throw error;
  }
};
