import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { PostgresEventStore } from '../src/eventstore/postgres/postgresEventStore.js';
import { percentile } from './percentile.js';

export type AppendFigures = {
  mode: 'one transaction each' | 'group commit';
  appends: number;
  appendsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** PostgreSQL transactions the appends took. */
  transactions: number;
};

/**
 * What a purchase's order append costs: `appends` new order streams of one OrderPlaced-sized
 * event each, by `callers` concurrent callers, with the PostgreSQL store committing each append
 * alone or merging those that arrive together (the group commit DESIGN.md asks for).
 */
export const orderAppends = async (
  pool: pg.Pool,
  appends: number,
  callers: number,
  groupCommit: boolean,
): Promise<AppendFigures> => {
  const store = new PostgresEventStore({ pool, groupCommit: groupCommit ? {} : false });
  const prefix = `order-${randomUUID().slice(0, 8)}`;
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < appends) {
        next++;
        const orderId = randomUUID();
        const t = performance.now();
        await store.appendToStream(
          `${prefix}${orderId}`,
          [
            {
              type: 'OrderPlaced',
              data: {
                orderId,
                customerId: randomUUID(),
                showId: randomUUID(),
                lines: [{ ticketTypeId: randomUUID(), quantity: 2, unitPriceCents: 5000 }],
                totalCents: 10_000,
                currency: 'EUR',
                requestHash: 'h'.repeat(64),
                placedAt: new Date().toISOString(),
              },
            },
          ],
          { expectedRevision: 'no_stream' },
        );
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(DISTINCT transaction_id)::text AS n FROM es_events WHERE starts_with(stream_id, $1)`,
    [prefix],
  );
  latencies.sort((a, b) => a - b);
  return {
    mode: groupCommit ? 'group commit' : 'one transaction each',
    appends,
    appendsPerSecond: appends / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    transactions: Number(rows[0]?.n ?? 0),
  };
};
