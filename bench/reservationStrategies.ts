import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { handleCommand } from '../src/commands/handleCommand.js';
import { InventoryWriters } from '../src/commands/inventoryWriters.js';
import { loadAggregate } from '../src/commands/loadAggregate.js';
import { inventoryDecider, inventoryStreamName } from '../src/domain/inventory/decider.js';
import type { EventStore } from '../src/eventstore/eventStore.js';
import { percentile } from './percentile.js';

export type StrategyResult = {
  strategy: string;
  /** Requests answered; fewer than asked when the run hit its time budget. */
  requests: number;
  /** True when the time budget ended the run before every request was sent. */
  stoppedEarly: boolean;
  seconds: number;
  holdsPerSecond: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  conflicts: number;
  sold: number;
  oversold: number;
};

type Reserve = (i: number) => Promise<boolean>;

const now = new Date();

const newInventory = async (store: EventStore, capacity: number) => {
  const ticketTypeId = randomUUID();
  await handleCommand(store, inventoryDecider, inventoryStreamName(ticketTypeId), {
    type: 'InitializeInventory',
    data: {
      ticketTypeId,
      showId: randomUUID(),
      capacity,
      maxPerCustomer: 10,
      holdSeconds: 600,
      salesOpenAt: new Date(0).toISOString(),
      now,
    },
  });
  return ticketTypeId;
};

type Contender = {
  reserve: Reserve;
  /** Seats held or sold when the run is over, read from the contender's own books. */
  sold: () => Promise<number>;
  close?: () => Promise<void>;
};

/** `requests` reservations of one seat each by `callers` concurrent callers on one ticket type. */
const run = async (
  strategy: string,
  capacity: number,
  requests: number,
  callers: number,
  make: (onConflict: () => void) => Promise<Contender>,
  budgetSeconds = Number.POSITIVE_INFINITY,
): Promise<StrategyResult> => {
  let conflicts = 0;
  const contender = await make(() => conflicts++);
  const latencies: number[] = [];
  let next = 0;
  let held = 0;
  const started = performance.now();
  const deadline = started + budgetSeconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < requests && performance.now() < deadline) {
        const i = next++;
        const t = performance.now();
        if (await contender.reserve(i)) held++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  // Every call has been answered: the books are final before the contender closes.
  const sold = await contender.sold();
  await contender.close?.();
  latencies.sort((a, b) => a - b);
  return {
    strategy,
    requests: latencies.length,
    stoppedEarly: latencies.length < requests,
    seconds,
    holdsPerSecond: held / seconds,
    requestsPerSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    conflicts,
    sold,
    oversold: Math.max(0, sold - capacity),
  };
};

const soldOnStream = async (store: EventStore, ticketTypeId: string) => {
  const { state } = await loadAggregate(store, inventoryDecider, inventoryStreamName(ticketTypeId));
  return state.status === 'initialized' ? state.reserved + state.sold : 0;
};

/** The classic relational approach: one conditional UPDATE of a counter row per request. */
export const sqlHotRow = (pool: pg.Pool, capacity: number, requests: number, callers: number) =>
  run('sql-hot-row', capacity, requests, callers, async () => {
    const id = randomUUID();
    await pool.query(
      'CREATE TABLE IF NOT EXISTS bench_inventory (id uuid PRIMARY KEY, available int NOT NULL)',
    );
    await pool.query('INSERT INTO bench_inventory (id, available) VALUES ($1, $2)', [id, capacity]);
    return {
      reserve: async () => {
        const { rowCount } = await pool.query(
          'UPDATE bench_inventory SET available = available - $1 WHERE id = $2 AND available >= $1',
          [1, id],
        );
        return rowCount === 1;
      },
      sold: async () => {
        const { rows } = await pool.query<{ available: number }>(
          'SELECT available FROM bench_inventory WHERE id = $1',
          [id],
        );
        return capacity - rows[0]!.available;
      },
    };
  });

// Check and take in one step on the Redis server; nothing durable is written.
const TAKE_SCRIPT = `
local available = tonumber(redis.call('GET', KEYS[1]))
if available >= tonumber(ARGV[1]) then
  redis.call('DECRBY', KEYS[1], ARGV[1])
  return 1
end
return 0
`;

/** An atomic Lua check-and-decrement in Redis: fast, but nothing durable is written. */
export const redisLua = (redisUrl: string, capacity: number, requests: number, callers: number) =>
  run('redis-lua', capacity, requests, callers, async () => {
    const redis = new Redis(redisUrl);
    const key = `flashtix-bench:${randomUUID()}`;
    await redis.set(key, capacity);
    return {
      reserve: async () => (await redis.eval(TAKE_SCRIPT, 1, key, 1)) === 1,
      sold: async () => capacity - Number(await redis.get(key)),
      close: async () => {
        await redis.del(key);
        redis.disconnect();
      },
    };
  });

/**
 * Load, decide, append, retry on conflict. It slows as callers pile up on one stream, so it runs
 * for at most `budgetSeconds`: its rate is what is compared.
 */
export const esOptimistic = (
  store: EventStore,
  capacity: number,
  requests: number,
  callers: number,
  budgetSeconds: number,
) =>
  run(
    'es-optimistic',
    capacity,
    requests,
    callers,
    async (onConflict) => {
      const ticketTypeId = await newInventory(store, capacity);
      return {
        reserve: async (i) => {
          const result = await handleCommand(
            store,
            inventoryDecider,
            inventoryStreamName(ticketTypeId),
            { type: 'ReserveSeats', data: { reservationId: `r${i}`, customerId: `c${i}`, quantity: 1, now } },
            { maxRetries: 100_000, onConflict },
          );
          return result.ok && result.events.length > 0;
        },
        sold: () => soldOnStream(store, ticketTypeId),
      };
    },
    budgetSeconds,
  );

export const esHotWriter = (store: EventStore, capacity: number, requests: number, callers: number) =>
  run('es-hot-writer', capacity, requests, callers, async (onConflict) => {
    const ticketTypeId = await newInventory(store, capacity);
    const writers = new InventoryWriters(store, { onConflict });
    return {
      reserve: async (i) => {
        const result = await writers.reserve(ticketTypeId, {
          reservationId: `r${i}`,
          customerId: `c${i}`,
          quantity: 1,
          now,
        });
        return result.ok && result.events.length > 0;
      },
      sold: () => soldOnStream(store, ticketTypeId),
      close: () => writers.close(),
    };
  });
