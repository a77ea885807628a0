import pg from 'pg';

/**
 * A pool for one database. An idle client's error (the server restarted, the network broke)
 * is reported instead of crashing the process; the pool replaces that client on next use.
 */
export const createPostgresPool = (
  connectionString: string,
  options: { max?: number; onIdleError?: (error: Error) => void } = {},
): pg.Pool => {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 20 });
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
};
