import pg from 'pg';
import { appendStatement } from '../../src/eventstore/postgres/appendStatement.js';
import { PostgresEventStore } from '../../src/eventstore/postgres/postgresEventStore.js';
import { eventStoreMigrations } from '../../src/eventstore/postgres/schema.js';
import { runMigrations } from '../../src/platform/migrations.js';
import { createTestDatabase } from '../support/testDatabase.js';
import { eventStoreContract } from './contract.js';

eventStoreContract('postgres', async () => {
  const database = await createTestDatabase({ poolSize: 30 });
  await runMigrations(database.pool, eventStoreMigrations);
  const store = new PostgresEventStore({ pool: database.pool });
  return {
    store,
    // The adapter's own append statement, run in a transaction that stays open until commit().
    beginAppend: async (streamName, events) => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query('BEGIN');
      await client.query(appendStatement(streamName, events, 'any'));
      return {
        commit: async () => {
          await client.query('COMMIT');
          await client.end();
        },
      };
    },
    teardown: async () => {
      await store.close();
      await database.drop();
    },
  };
});
