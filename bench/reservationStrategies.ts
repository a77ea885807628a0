import { randomUUID } from 'node:crypto';
import { handleCommand } from '../src/commands/handleCommand.js';
import { InventoryWriters } from '../src/commands/inventoryWriters.js';
import { loadAggregate } from '../src/commands/loadAggregate.js';
import { inventoryDecider, inventoryStreamName } from '../src/domain/inventory/decider.js';
import type { EventStore } from '../src/eventstore/eventStore.js';

export type StrategyResult = {
  strategy: string;
  requests: number;
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

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

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

/** `requests` reservations of one seat each by `callers` concurrent callers on one ticket type. */
const run = async (
  strategy: string,
  store: EventStore,
  capacity: number,
  requests: number,
  callers: number,
  make: (ticketTypeId: string, onConflict: () => void) => { reserve: Reserve; close?: () => Promise<void> },
): Promise<StrategyResult> => {
  const ticketTypeId = await newInventory(store, capacity);
  let conflicts = 0;
  const { reserve, close } = make(ticketTypeId, () => conflicts++);
  const latencies: number[] = [];
  let next = 0;
  let held = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < requests) {
        const i = next++;
        const t = performance.now();
        if (await reserve(i)) held++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await close?.();
  const { state } = await loadAggregate(store, inventoryDecider, inventoryStreamName(ticketTypeId));
  const sold = state.status === 'initialized' ? state.reserved + state.sold : 0;
  latencies.sort((a, b) => a - b);
  return {
    strategy,
    requests,
    seconds,
    holdsPerSecond: held / seconds,
    requestsPerSecond: requests / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    conflicts,
    sold,
    oversold: Math.max(0, sold - capacity),
  };
};

export const esOptimistic = (store: EventStore, capacity: number, requests: number, callers: number) =>
  run('es-optimistic', store, capacity, requests, callers, (ticketTypeId, onConflict) => ({
    reserve: async (i) => {
      const result = await handleCommand(
        store,
        inventoryDecider,
        inventoryStreamName(ticketTypeId),
        { type: 'ReserveSeats', data: { reservationId: `r${i}`, customerId: `c${i}`, quantity: 1, now } },
        { maxRetries: 10_000, onConflict },
      );
      return result.ok && result.events.length > 0;
    },
  }));

export const esHotWriter = (store: EventStore, capacity: number, requests: number, callers: number) =>
  run('es-hot-writer', store, capacity, requests, callers, (ticketTypeId, onConflict) => {
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
      close: () => writers.close(),
    };
  });
