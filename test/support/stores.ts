import type { EventStore } from '../../src/eventstore/eventStore.js';
import { MemoryEventStore } from '../../src/eventstore/memory/memoryEventStore.js';
import { PostgresEventStore } from '../../src/eventstore/postgres/postgresEventStore.js';
import { runMigrations } from '../../src/platform/migrations.js';
import { allMigrations } from '../../src/runtime.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';

export type StoreSubject = {
  name: 'memory' | 'postgres';
  store: EventStore;
  /** Another store on the same data, as a second process would have; same object for memory. */
  secondStore(): EventStore;
  database?: TestDatabase;
  teardown(): Promise<void>;
};

export const memorySubject = async (): Promise<StoreSubject> => {
  const store = new MemoryEventStore();
  return { name: 'memory', store, secondStore: () => store, teardown: () => store.close() };
};

/** A fresh, fully migrated database with a PostgreSQL event store on it. */
export const postgresSubject = async (): Promise<StoreSubject> => {
  const database = await createTestDatabase({ poolSize: 30 });
  await runMigrations(database.pool, allMigrations);
  const store = new PostgresEventStore({ pool: database.pool });
  const others: PostgresEventStore[] = [];
  return {
    name: 'postgres',
    store,
    database,
    secondStore: () => {
      const other = new PostgresEventStore({ pool: database.pool });
      others.push(other);
      return other;
    },
    teardown: async () => {
      await Promise.all([store, ...others].map((s) => s.close()));
      await database.drop();
    },
  };
};

export const storeSubjects = [memorySubject, postgresSubject] as const;
