import pg from 'pg';

/**
 * A pool for one database. A client's lost connection (the server restarted, the network broke)
 * never crashes the process: an idle client's error is reported and the pool replaces it; a
 * checked-out client's error also fails its queries, and the pool drops that client when it comes
 * back. (A pg client emits 'error' when its socket dies, and a checked-out one has no listener of
 * the pool's: without one of its own, that error would end the process.)
 */
export const createPostgresPool = (
  connectionString: string,
  options: { max?: number; onIdleError?: (error: Error) => void } = {},
): pg.Pool => {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 20 });
  pool.on('error', (error) => options.onIdleError?.(error));
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
};

/** Runs `work` in a transaction on one connection: committed if it returns, rolled back if it throws. */
export const inTransaction = async <T>(
  pool: pg.Pool,
  work: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> => {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    }
  } finally {
    client.release(broken);
  }
};
