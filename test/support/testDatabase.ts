import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createPostgresPool } from '../../src/platform/postgres.js';

export type TestDatabase = { url: string; pool: pg.Pool; drop(): Promise<void> };

const withAdmin = async <T>(run: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
};

/** A fresh database for one test file, so that no test sees another file's rows. */
export const createTestDatabase = async (options: { poolSize?: number } = {}): Promise<TestDatabase> => {
  const name = `flashtix_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(inject('adminDatabaseUrl'));
  url.pathname = `/${name}`;
  const pool = createPostgresPool(url.toString(), { max: options.poolSize ?? 20 });
  return {
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
};
