import type pg from 'pg';
import { InProcessLocks } from './inProcessLocks.js';
import { pause } from './pause.js';

/**
 * Work serialised per key across every process on one PostgreSQL database: an in-process
 * queue first (so waiters of this process hold no connection), then a session advisory lock.
 * Give it a pool of its own: a lock holder whose work needs a connection from the same pool
 * could otherwise wait for itself.
 */
export class PostgresAdvisoryLocks {
  readonly #local = new InProcessLocks();

  constructor(private readonly pool: pg.Pool) {}

  withLock<T>(key: string, run: () => Promise<T>): Promise<T> {
    return this.#local.withLock(key, () => this.#locked(key, run));
  }

  async #locked<T>(key: string, run: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client has no error listener: without one, a lost session would crash the process.
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
      try {
        return await run();
      } finally {
        await client
          .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key])
          .catch((error: Error) => {
            broken = error;
          });
      }
    } finally {
      client.off('error', onError);
      // A connection whose unlock failed may still hold the lock: close it rather than reuse it.
      client.release(broken);
    }
  }
}

/**
 * Holds a named session lock while `work` runs, so that one process at a time does it; the
 * others wait and take over when it stops. `work` gets a signal that fires when the lock's
 * connection is lost.
 */
export const runAsSingleInstance = async (options: {
  pool: pg.Pool;
  name: string;
  stop: AbortSignal;
  retryMs?: number;
  work: (lost: AbortSignal) => Promise<void>;
  onError?: (error: unknown) => void;
}): Promise<void> => {
  const retryMs = options.retryMs ?? 1000;
  while (!options.stop.aborted) {
    try {
      const ran = await withSessionLockIfFree(options.pool, options.name, async (client) => {
        // Ends when asked to stop or when the lock's connection is lost (either ends the lock).
        const lost = new AbortController();
        const abort = () => lost.abort();
        client.on('error', abort);
        options.stop.addEventListener('abort', abort);
        try {
          await options.work(lost.signal);
        } finally {
          options.stop.removeEventListener('abort', abort);
        }
      });
      if (!ran.locked) await pause(retryMs, options.stop);
    } catch (error) {
      options.onError?.(error);
      await pause(retryMs, options.stop);
    }
  }
};

/**
 * Runs `work` holding the named session lock if no other session holds it now; answers
 * `{ locked: false }` without running it otherwise.
 */
export const withSessionLockIfFree = async <T>(
  pool: pg.Pool,
  name: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<{ locked: true; value: T } | { locked: false }> => {
  const client = await pool.connect();
  let locked = false;
  try {
    const { rows } = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
      [name],
    );
    locked = rows[0]?.locked === true;
    if (!locked) return { locked: false };
    return { locked: true, value: await work(client) };
  } finally {
    // Ending the session releases the lock, whatever state the connection is in.
    client.release(locked ? true : undefined);
  }
};
