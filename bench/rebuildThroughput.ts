import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { EventStore, NewEvent } from '../src/eventstore/eventStore.js';
import { countPostgresEvents } from '../src/eventstore/postgres/postgresEventStore.js';
import type { AvailabilityCache } from '../src/projections/availabilityCache/availabilityCache.js';
import { rebuild } from '../src/projections/rebuild.js';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Writes a log of `orders` confirmed purchases (7 events each: hold, order placed and reserved,
 * payment requested and succeeded, commit, confirmation) across 20 ticket types.
 */
export const writeLog = async (store: EventStore, orders: number): Promise<void> => {
  const t0 = Date.parse('2026-12-01T10:00:00.000Z');
  const ticketTypes = Array.from({ length: 20 }, () => randomUUID());
  const showId = randomUUID();
  for (const ticketTypeId of ticketTypes)
    await store.appendToStream(`inventory-${ticketTypeId}`, [
      {
        type: 'InventoryInitialized',
        data: {
          ticketTypeId,
          showId,
          capacity: 1_000_000,
          maxPerCustomer: 10,
          holdSeconds: 600,
          salesOpenAt: iso(t0),
          initializedAt: iso(t0),
        },
      },
    ]);
  const chunk = 100;
  for (let start = 0; start < orders; start += chunk) {
    const ticketTypeId = ticketTypes[(start / chunk) % ticketTypes.length]!;
    const ids = Array.from({ length: Math.min(chunk, orders - start) }, () => randomUUID());
    const at = iso(t0 + start);
    const perOrder = (make: (orderId: string, i: number) => NewEvent[]) =>
      Promise.all(
        ids.map((orderId, i) =>
          store.appendToStream(
            `${make(orderId, i)[0]!.type.startsWith('Payment') ? 'payment' : 'order'}-${orderId}`,
            make(orderId, i),
          ),
        ),
      );
    await store.appendToStream(
      `inventory-${ticketTypeId}`,
      ids.map((reservationId, i) => ({
        type: 'SeatsReserved',
        data: {
          reservationId,
          customerId: `c${start + i}`,
          quantity: 1,
          reservedAt: at,
          expiresAt: iso(t0 + start + 600_000),
        },
      })),
    );
    await perOrder((orderId, i) => [
      {
        type: 'OrderPlaced',
        data: {
          orderId,
          customerId: `c${start + i}`,
          showId,
          lines: [{ ticketTypeId, quantity: 1, unitPriceCents: 5000 }],
          totalCents: 5000,
          currency: 'EUR',
          requestHash: 'h',
          placedAt: at,
        },
      },
      { type: 'OrderReserved', data: { orderId, expiresAt: iso(t0 + start + 600_000), reservedAt: at } },
    ]);
    await perOrder((orderId) => [
      {
        type: 'PaymentRequested',
        data: {
          orderId,
          attemptId: orderId,
          idempotencyKey: 'k',
          requestHash: 'h',
          amountCents: 5000,
          currency: 'EUR',
          requestedAt: at,
        },
      },
      {
        type: 'PaymentSucceeded',
        data: { orderId, attemptId: orderId, chargeId: `ch_${orderId}`, amountCents: 5000, succeededAt: at },
      },
    ]);
    await store.appendToStream(
      `inventory-${ticketTypeId}`,
      ids.map((reservationId, i) => ({
        type: 'ReservationCommitted',
        data: { reservationId, customerId: `c${start + i}`, quantity: 1, committedAt: at },
      })),
    );
    await perOrder((orderId) => [{ type: 'OrderConfirmed', data: { orderId, confirmedAt: at } }]);
  }
};

export type RebuildFigures = {
  events: number;
  readModelsEventsPerSecond: number;
  cacheEventsPerSecond: number;
};

export const measureRebuild = async (
  pool: pg.Pool,
  store: EventStore,
  cache: AvailabilityCache,
): Promise<RebuildFigures> => {
  const results = await rebuild({ pool, store, cache, countEvents: () => countPostgresEvents(pool) });
  const readModels = results.find((r) => r.projection === 'read-models')!;
  const cacheResult = results.find((r) => r.projection === 'availability-cache')!;
  return {
    events: readModels.events,
    readModelsEventsPerSecond: readModels.eventsPerSecond,
    cacheEventsPerSecond: cacheResult.eventsPerSecond,
  };
};
