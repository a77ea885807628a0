import { fold } from '../domain/decider.js';
import type { ReservationOutcome } from '../domain/order/commands.js';
import { orderDecider, orderLinesProblem, orderStreamName } from '../domain/order/decider.js';
import { type OrderLine, type RejectReason, rejectReasons } from '../domain/order/events.js';
import { orderIdFor } from '../domain/order/orderId.js';
import { paymentDecider } from '../domain/payment/decider.js';
import { type EventStore, WrongExpectedVersionError } from '../eventstore/eventStore.js';
import type { InventoryResult, InventoryWriters } from './inventoryWriters.js';
import { loadAggregate } from './loadAggregate.js';
import { type OrderView, readOrderView, toOrderView } from './orderView.js';
import { requestHash } from './requestHash.js';
import { refuse, succeed, type UseCaseResult } from './result.js';
import type { ShowCatalog } from './showCatalog.js';

export type PlaceOrderRequest = { showId: string; lines: { ticketTypeId: string; quantity: number }[] };

export type PlaceOrderInput = {
  customerId: string;
  idempotencyKey: string;
  request: PlaceOrderRequest;
  now: Date;
};

export type PlaceOrderCode =
  | 'idempotency_key_reused'
  | 'show_not_found'
  | 'ticket_type_not_found'
  | 'invalid_order';

/** `replayed`: the key was seen before and this is that order as it stands now. */
export type PlacedOrder = { order: OrderView; replayed: boolean };

export type PlaceOrderContext = { store: EventStore; writers: InventoryWriters; catalog: ShowCatalog };

const isRejectReason = (code: string): code is RejectReason =>
  (rejectReasons as readonly string[]).includes(code);

type LineOutcome =
  | { status: 'reserved'; expiresAt: string }
  | { status: 'rejected'; reason: RejectReason }
  | { status: 'key_reused' };

/** Reads what reserving one line came to, including a reservation an earlier try of this order made. */
const lineOutcome = (
  result: InventoryResult,
  customerId: string,
  quantity: number,
): LineOutcome | { status: 'missing' } => {
  if (!result.ok) {
    if (isRejectReason(result.error.code)) return { status: 'rejected', reason: result.error.code };
    return { status: 'missing' };
  }
  const reservation = result.answer.reservation;
  if (!reservation) return { status: 'missing' };
  if (reservation.customerId !== customerId || reservation.quantity !== quantity)
    return { status: 'key_reused' };
  if (reservation.status === 'reserved') return { status: 'reserved', expiresAt: reservation.expiresAt };
  // An earlier try of this order reserved, then lost its hold (it expired or was rolled back).
  return { status: 'rejected', reason: 'hold_expired' };
};

const replay = async (
  store: EventStore,
  orderId: string,
  hash: string,
): Promise<UseCaseResult<PlacedOrder, PlaceOrderCode> | undefined> => {
  const { state } = await loadAggregate(store, orderDecider, orderStreamName(orderId));
  if (state.status === 'none') return undefined;
  if (state.order.requestHash !== hash)
    return refuse('idempotency_key_reused', 'this Idempotency-Key was used with another request');
  const order = await readOrderView(store, orderId);
  return succeed({ order: order!, replayed: true });
};

/**
 * Places an order: reserve every line on its inventory (the reservation id is the order id,
 * so a retry or a concurrent duplicate reserves nothing twice), give back what was reserved if
 * a line is refused, then record OrderPlaced with its outcome on a new order stream.
 *
 * A failure between reserving and recording leaves the holds in place: a retry with the same
 * key finds them, and hold expiry returns them to the pool if none comes.
 */
export const placeOrder = async (
  ctx: PlaceOrderContext,
  { customerId, idempotencyKey, request, now }: PlaceOrderInput,
): Promise<UseCaseResult<PlacedOrder, PlaceOrderCode>> => {
  const orderId = orderIdFor(customerId, idempotencyKey);
  const hash = requestHash({
    showId: request.showId,
    lines: [...request.lines].sort((a, b) => (a.ticketTypeId < b.ticketTypeId ? -1 : 1)),
  });
  const existing = await replay(ctx.store, orderId, hash);
  if (existing) return existing;

  const show = await ctx.catalog.get(request.showId);
  if (!show) return refuse('show_not_found', `no show ${request.showId}`);
  const linesProblem = orderLinesProblem(request.lines);
  if (linesProblem) return refuse('invalid_order', linesProblem);
  const lines: OrderLine[] = [];
  for (const line of request.lines) {
    const ticketType = show.ticketTypes.find((t) => t.ticketTypeId === line.ticketTypeId);
    if (!ticketType)
      return refuse('ticket_type_not_found', `show ${show.showId} has no ticket type ${line.ticketTypeId}`);
    lines.push({
      ticketTypeId: line.ticketTypeId,
      quantity: line.quantity,
      unitPriceCents: ticketType.priceCents,
    });
  }

  const settled = await Promise.allSettled(
    lines.map((line) =>
      ctx.writers.reserve(line.ticketTypeId, {
        reservationId: orderId,
        customerId,
        quantity: line.quantity,
        now,
      }),
    ),
  );
  // A line that failed outright (overload, a lost connection) leaves the others held: a retry
  // with the same key finds them, and hold expiry returns them if none comes.
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const results = settled.map((r) => (r as PromiseFulfilledResult<InventoryResult>).value);
  const giveBack = (held: (i: number) => boolean) =>
    Promise.all(
      lines.map((line, i) =>
        held(i) ? ctx.writers.release(line.ticketTypeId, orderId, 'order_rejected', now) : undefined,
      ),
    );
  const outcomes = results.map((result, i) => lineOutcome(result, customerId, lines[i]!.quantity));
  if (outcomes.some((o) => o.status === 'key_reused')) {
    // Holds this request took under a body its key was not first used with.
    await giveBack((i) => results[i]!.ok && results[i]!.events.length > 0);
    return refuse('idempotency_key_reused', 'this Idempotency-Key was used with another request');
  }
  const missing = outcomes.findIndex((o) => o.status === 'missing');
  const rejected = outcomes.find((o) => o.status === 'rejected');
  if (missing >= 0 || rejected) await giveBack((i) => outcomes[i]!.status === 'reserved');
  if (missing >= 0)
    return refuse('ticket_type_not_found', `ticket type ${lines[missing]!.ticketTypeId} has no inventory`);

  const outcome: ReservationOutcome =
    rejected?.status === 'rejected'
      ? { status: 'rejected', reason: rejected.reason }
      : {
          status: 'reserved',
          expiresAt: outcomes
            .map((o) => (o.status === 'reserved' ? o.expiresAt : ''))
            .reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b)),
        };
  // The order stream was read as missing above: decide on the empty state and append with
  // no_stream, so a purchase costs one read, the reservations and one append.
  const decision = orderDecider.decide(
    {
      type: 'PlaceOrder',
      data: {
        orderId,
        customerId,
        showId: show.showId,
        lines,
        currency: show.currency,
        requestHash: hash,
        outcome,
        now,
      },
    },
    orderDecider.initialState(),
  );
  if (!decision.ok) return refuse('invalid_order', decision.error.message);
  try {
    await ctx.store.appendToStream(
      orderStreamName(orderId),
      decision.events.map((e) => ({ type: e.type, data: e.data })),
      { expectedRevision: 'no_stream' },
    );
  } catch (error) {
    if (!(error instanceof WrongExpectedVersionError)) throw error;
    // A concurrent duplicate recorded the order first: answer with that one. If it was refused
    // while this request got seats, those holds belong to no order: give them back.
    const concurrent = await replay(ctx.store, orderId, hash);
    if (!concurrent) throw error;
    if (outcome.status === 'reserved' && !(concurrent.ok && concurrent.value.order.status === 'reserved'))
      await giveBack(() => true);
    return concurrent;
  }
  const order = toOrderView(fold(orderDecider, decision.events), paymentDecider.initialState());
  return succeed({ order: order!, replayed: false });
};
