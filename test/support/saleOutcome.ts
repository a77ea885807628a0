import { expect } from 'vitest';
import { loadAggregate } from '../../src/commands/loadAggregate.js';
import { inventoryDecider, inventoryStreamName } from '../../src/domain/inventory/decider.js';
import { type OrderState, orderDecider, orderStreamName } from '../../src/domain/order/decider.js';
import type { EventStore } from '../../src/eventstore/eventStore.js';
import { waitFor } from './waitFor.js';

const ENDED = new Set(['confirmed', 'cancelled', 'rejected']);

/** An order as its stream tells it. */
export const orderStateOf = async (store: EventStore, orderId: string): Promise<OrderState> =>
  (await loadAggregate(store, orderDecider, orderStreamName(orderId))).state;

/** Waits until every one of these orders has ended (confirmed, cancelled or rejected). */
export const waitForOrdersToEnd = (store: EventStore, orderIds: readonly string[], timeoutMs = 30_000) =>
  waitFor(
    'every order to reach an end',
    async () =>
      (await Promise.all(orderIds.map((id) => orderStateOf(store, id)))).every((s) => ENDED.has(s.status)),
    timeoutMs,
  );

/**
 * After a sale has settled: the ticket type's seats add up to its capacity, none is still held,
 * and it has sold exactly what the confirmed orders among `orderIds` bought. Returns the seats
 * sold and each order's state.
 */
export const expectSeatsAccountedFor = async (
  store: EventStore,
  ticketTypeId: string,
  capacity: number,
  orderIds: readonly string[],
) => {
  const { state: inventory } = await loadAggregate(
    store,
    inventoryDecider,
    inventoryStreamName(ticketTypeId),
  );
  if (inventory.status !== 'initialized') throw new Error(`no inventory for ${ticketTypeId}`);
  expect(inventory.available + inventory.reserved + inventory.sold).toBe(capacity);
  expect(inventory.reserved).toBe(0);
  const states = await Promise.all(orderIds.map((id) => orderStateOf(store, id)));
  const confirmedSeats = states.reduce(
    (sum, s) => sum + (s.status === 'confirmed' ? s.order.lines.reduce((n, l) => n + l.quantity, 0) : 0),
    0,
  );
  expect(inventory.sold).toBe(confirmedSeats);
  return { sold: inventory.sold, available: inventory.available, states };
};
