import type pg from 'pg';
import { type InventoryState, inventoryDecider } from '../domain/inventory/decider.js';
import { inventoryEventSchema } from '../domain/inventory/events.js';
import { JournaledMap } from '../domain/journaledMap.js';
import { type OrderState, orderDecider } from '../domain/order/decider.js';
import { orderEventSchema } from '../domain/order/events.js';
import { type PaymentState, paymentDecider } from '../domain/payment/decider.js';
import { paymentEventSchema } from '../domain/payment/events.js';
import type { AllFrom, EventStore, RecordedEvent } from '../eventstore/eventStore.js';
import { streamCategory, streamId } from '../eventstore/streamName.js';
import { READ_MODEL_SCHEMA } from './readModelSchema.js';
import { READ_MODELS } from './readModels/readModelProjection.js';

export type ViolationKind =
  | 'unreadable_event'
  | 'conservation'
  | 'illegal_transition'
  | 'confirmed_not_paid_once'
  | 'double_charge'
  | 'not_compensated'
  | 'hold_past_expiry'
  | 'read_model_mismatch';

export type Violation = { kind: ViolationKind; streamName?: string; position?: string; detail: string };

export type AuditReport = {
  ok: boolean;
  checkedEvents: number;
  violations: Violation[];
  /** How the PostgreSQL read models compared with the log at their own checkpoint. */
  readModels: 'matched' | 'mismatched' | 'empty' | 'not_checked';
};

export type AuditOptions = {
  now: Date;
  /** A hold may stay open this long past its expiry before it counts as stuck (default 60 s). */
  holdGraceMs?: number;
  /** A payment may stay this long neither fulfilled nor refunded before it counts (default 60 s). */
  settleGraceMs?: number;
};

type Initialized = Extract<InventoryState, { status: 'initialized' }>;
type ReadModelSnapshot = {
  position: AllFrom;
  availability: Map<string, { available: number; reserved: number; sold: number }>;
  orders: Map<string, string>;
};

/** A consistent view of the read models and the checkpoint they stand at. */
const snapshotReadModels = async (pool: pg.Pool): Promise<ReadModelSnapshot> => {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const checkpoint = await client.query<{ position: string }>(
      'SELECT position FROM projection_checkpoints WHERE name = $1',
      [READ_MODELS],
    );
    const availability = await client.query<{
      ticket_type_id: string;
      available: number;
      reserved: number;
      sold: number;
    }>(`SELECT ticket_type_id, available, reserved, sold FROM ${READ_MODEL_SCHEMA}.availability`);
    const orders = await client.query<{ order_id: string; status: string }>(
      `SELECT order_id, status FROM ${READ_MODEL_SCHEMA}.orders`,
    );
    await client.query('COMMIT');
    return {
      position: checkpoint.rows[0]?.position ?? 'start',
      availability: new Map(availability.rows.map((r) => [r.ticket_type_id, r])),
      orders: new Map(orders.rows.map((r) => [r.order_id, r.status])),
    };
  } finally {
    client.release();
  }
};

/**
 * Replays the whole log through the deciders' evolve and checks every promise of the design:
 * conservation per ticket type at every revision, no transition outside the state machines,
 * every confirmed order paid exactly once, every failed or late payment compensated, no hold
 * stuck past its expiry; then compares the read models with the log at their checkpoint.
 */
export const audit = async (
  deps: { store: EventStore; pool?: pg.Pool },
  options: AuditOptions,
): Promise<AuditReport> => {
  const violations: Violation[] = [];
  const report = (kind: ViolationKind, event: RecordedEvent | undefined, detail: string) =>
    violations.push({
      kind,
      detail,
      ...(event ? { streamName: event.streamName, position: event.position } : {}),
    });
  const inventories = new Map<string, InventoryState>();
  const orders = new Map<string, OrderState>();
  const payments = new Map<string, PaymentState>();
  const successes = new Map<string, number>();
  const paidAt = new Map<string, string>();

  const readModels = deps.pool ? await snapshotReadModels(deps.pool) : undefined;
  let atCheckpoint: { availability: Map<string, Initialized>; orders: Map<string, string> } | undefined;
  const capture = () => ({
    availability: new Map(
      [...inventories].flatMap(([id, s]) =>
        s.status === 'initialized'
          ? [
              [
                id,
                {
                  ...s,
                  reservations: new JournaledMap() as Initialized['reservations'],
                  seatsPerCustomer: new JournaledMap() as Initialized['seatsPerCustomer'],
                },
              ] as const,
            ]
          : [],
      ),
    ),
    orders: new Map([...orders].flatMap(([id, s]) => (s.status === 'none' ? [] : [[id, s.status] as const]))),
  });
  if (readModels?.position === 'start') atCheckpoint = capture();

  const onInventory = (event: RecordedEvent) => {
    const parsed = inventoryEventSchema.safeParse(event);
    if (!parsed.success) return report('unreadable_event', event, parsed.error.message);
    const e = parsed.data;
    const id = streamId(event.streamName);
    const state = inventories.get(id) ?? inventoryDecider.initialState();
    if (e.type === 'InventoryInitialized') {
      if (state.status === 'initialized') report('illegal_transition', event, 'inventory initialized twice');
    } else if (state.status !== 'initialized') {
      return report('illegal_transition', event, `${e.type} before the inventory was initialized`);
    } else if (e.type === 'SeatsReserved') {
      if (state.reservations.has(e.data.reservationId))
        report('illegal_transition', event, `reservation ${e.data.reservationId} reserved twice`);
      if (state.salesClosed || Date.parse(e.data.reservedAt) < Date.parse(state.salesOpenAt))
        report(
          'illegal_transition',
          event,
          `reservation ${e.data.reservationId} taken while sales were not open`,
        );
      const held = state.seatsPerCustomer.get(e.data.customerId) ?? 0;
      if (held + e.data.quantity > state.definition.maxPerCustomer)
        report('illegal_transition', event, `customer ${e.data.customerId} over the per-customer limit`);
    } else if (e.type === 'ReservationCommitted' || e.type === 'ReservationReleased') {
      const reservation = state.reservations.get(e.data.reservationId);
      if (reservation?.status !== 'reserved')
        report(
          'illegal_transition',
          event,
          `${e.type} of reservation ${e.data.reservationId}, which is ${reservation?.status ?? 'unknown'}`,
        );
      else if (
        e.type === 'ReservationReleased' &&
        e.data.reason === 'expired' &&
        Date.parse(e.data.releasedAt) < Date.parse(reservation.expiresAt)
      )
        report(
          'illegal_transition',
          event,
          `reservation ${e.data.reservationId} released for expiry before it expired`,
        );
    }
    const next = inventoryDecider.evolve(state, e);
    inventories.set(id, next);
    if (next.status === 'initialized') {
      const { available, reserved, sold } = next;
      if (available < 0 || reserved < 0 || available + reserved + sold !== next.definition.capacity)
        report(
          'conservation',
          event,
          `available ${available} + reserved ${reserved} + sold ${sold} ≠ capacity ${next.definition.capacity}`,
        );
    }
  };

  const onOrder = (event: RecordedEvent) => {
    const parsed = orderEventSchema.safeParse(event);
    if (!parsed.success) return report('unreadable_event', event, parsed.error.message);
    const e = parsed.data;
    const state = orders.get(e.data.orderId) ?? orderDecider.initialState();
    const allowed: Record<string, string[]> = {
      OrderPlaced: ['none'],
      OrderReserved: ['placed'],
      OrderRejected: ['placed'],
      OrderConfirmed: ['reserved'],
      OrderCancelled: ['reserved'],
    };
    if (!allowed[e.type]!.includes(state.status)) {
      report('illegal_transition', event, `${e.type} on an order that is ${state.status}`);
      return;
    }
    orders.set(e.data.orderId, orderDecider.evolve(state, e));
  };

  const onPayment = (event: RecordedEvent) => {
    const parsed = paymentEventSchema.safeParse(event);
    if (!parsed.success) return report('unreadable_event', event, parsed.error.message);
    const e = parsed.data;
    const state = payments.get(e.data.orderId) ?? paymentDecider.initialState();
    if (e.type === 'PaymentRequested') {
      const attempt = state.attempts.get(e.data.attemptId);
      const others = [...state.attempts.values()].filter((a) => a.attemptId !== e.data.attemptId);
      if (attempt && !(attempt.status === 'failed' && attempt.retryable))
        report(
          'illegal_transition',
          event,
          `attempt ${e.data.attemptId} requested again while ${attempt.status}`,
        );
      if (state.succeededAttemptId !== undefined || others.some((a) => a.status === 'pending'))
        report(
          'illegal_transition',
          event,
          `attempt ${e.data.attemptId} requested while the order is paid or being paid`,
        );
      const order = orders.get(e.data.orderId);
      if (order && order.status !== 'none' && order.order.totalCents !== e.data.amountCents)
        report(
          'illegal_transition',
          event,
          `attempt ${e.data.attemptId} asks ${e.data.amountCents}, the order costs ${order.order.totalCents}`,
        );
    }
    if (e.type === 'PaymentSucceeded') {
      if (state.attempts.get(e.data.attemptId)?.status !== 'pending')
        report('illegal_transition', event, `attempt ${e.data.attemptId} succeeded without being pending`);
      if (state.succeededAttemptId !== undefined)
        report(
          'double_charge',
          event,
          `order ${e.data.orderId} charged again by attempt ${e.data.attemptId}`,
        );
      successes.set(e.data.orderId, (successes.get(e.data.orderId) ?? 0) + 1);
      paidAt.set(e.data.orderId, e.data.succeededAt);
    }
    if (e.type === 'PaymentFailed' && state.attempts.get(e.data.attemptId)?.status !== 'pending')
      report('illegal_transition', event, `attempt ${e.data.attemptId} failed without being pending`);
    if (e.type === 'PaymentRefunded' && (!state.succeededAttemptId || state.refunded))
      report('illegal_transition', event, 'a refund of nothing, or a second refund');
    payments.set(e.data.orderId, paymentDecider.evolve(state, e));
  };

  let checkedEvents = 0;
  let from: AllFrom = 'start';
  for (;;) {
    const page = await deps.store.readAll({ from, maxCount: 2000 });
    if (page.length === 0) break;
    for (const event of page) {
      checkedEvents++;
      switch (streamCategory(event.streamName)) {
        case 'inventory':
          onInventory(event);
          break;
        case 'order':
          onOrder(event);
          break;
        case 'payment':
          onPayment(event);
          break;
      }
      if (readModels && event.position === readModels.position) atCheckpoint = capture();
    }
    from = page.at(-1)!.position;
  }

  const now = options.now.getTime();
  const reservationOf = (ticketTypeId: string, orderId: string) => {
    const state = inventories.get(ticketTypeId);
    return state?.status === 'initialized' ? state.reservations.get(orderId) : undefined;
  };
  for (const [orderId, order] of orders) {
    if (order.status === 'none') continue;
    const payment = payments.get(orderId);
    const paid = successes.get(orderId) ?? 0;
    if (order.status === 'confirmed') {
      const attempt = payment?.succeededAttemptId
        ? payment.attempts.get(payment.succeededAttemptId)
        : undefined;
      if (paid !== 1 || payment?.refunded || attempt?.amountCents !== order.order.totalCents)
        report(
          'confirmed_not_paid_once',
          undefined,
          `order ${orderId} is confirmed with ${paid} payments${payment?.refunded ? ', refunded' : ''}`,
        );
      for (const line of order.order.lines)
        if (reservationOf(line.ticketTypeId, orderId)?.status !== 'committed')
          report(
            'not_compensated',
            undefined,
            `confirmed order ${orderId} does not hold its seats of ${line.ticketTypeId}`,
          );
    } else {
      // The saga needs a moment after a payment (to confirm or refund) and after an order ends
      // (to give back holds a racing retry took): only what is still open after the grace counts.
      const unsettledFor = paidAt.has(orderId) ? now - Date.parse(paidAt.get(orderId)!) : 0;
      if (paid > 0 && !payment?.refunded && unsettledFor > (options.settleGraceMs ?? 60_000))
        report(
          'not_compensated',
          undefined,
          `order ${orderId} is ${order.status} and its payment was neither fulfilled nor refunded`,
        );
      if (order.status === 'cancelled' || order.status === 'rejected')
        for (const line of order.order.lines) {
          const reservation = reservationOf(line.ticketTypeId, orderId);
          const status = reservation?.status;
          const heldTooLong =
            status === 'reserved' &&
            Date.parse(reservation!.expiresAt) + (options.holdGraceMs ?? 60_000) < now;
          if (heldTooLong || status === 'committed')
            report(
              'not_compensated',
              undefined,
              `${order.status} order ${orderId} still ${status === 'reserved' ? 'holds' : 'bought'} seats of ${line.ticketTypeId}`,
            );
        }
    }
  }
  for (const orderId of payments.keys())
    if (!orders.has(orderId))
      report(
        'illegal_transition',
        undefined,
        `payments recorded for order ${orderId}, which was never placed`,
      );
  for (const [ticketTypeId, state] of inventories) {
    if (state.status !== 'initialized') continue;
    for (const [reservationId, r] of state.reservations)
      if (r.status === 'reserved' && Date.parse(r.expiresAt) + (options.holdGraceMs ?? 60_000) < now)
        report(
          'hold_past_expiry',
          undefined,
          `hold ${reservationId} on ${ticketTypeId} expired at ${r.expiresAt} and is still held`,
        );
  }

  let readModelsResult: AuditReport['readModels'] = 'not_checked';
  if (readModels && !atCheckpoint) {
    report(
      'read_model_mismatch',
      undefined,
      `the read models' checkpoint ${readModels.position} is not in the log`,
    );
    readModelsResult = 'mismatched';
  }
  if (readModels && atCheckpoint) {
    const before = violations.length;
    for (const ticketTypeId of readModels.availability.keys())
      if (!atCheckpoint.availability.has(ticketTypeId))
        report('read_model_mismatch', undefined, `availability of ${ticketTypeId} is in the read model only`);
    for (const orderId of readModels.orders.keys())
      if (!atCheckpoint.orders.has(orderId))
        report('read_model_mismatch', undefined, `order ${orderId} is in the read model only`);
    for (const [ticketTypeId, expected] of atCheckpoint.availability) {
      const row = readModels.availability.get(ticketTypeId);
      if (
        !row ||
        row.available !== expected.available ||
        row.reserved !== expected.reserved ||
        row.sold !== expected.sold
      )
        report(
          'read_model_mismatch',
          undefined,
          `availability of ${ticketTypeId}: read model ${JSON.stringify(row)} but the log says ${expected.available}/${expected.reserved}/${expected.sold}`,
        );
    }
    for (const [orderId, status] of atCheckpoint.orders) {
      const row = readModels.orders.get(orderId);
      if (row !== status)
        report(
          'read_model_mismatch',
          undefined,
          `order ${orderId}: read model says ${row ?? 'nothing'}, the log says ${status}`,
        );
    }
    readModelsResult =
      violations.length > before ? 'mismatched' : atCheckpoint.availability.size === 0 ? 'empty' : 'matched';
  }
  return { ok: violations.length === 0, checkedEvents, violations, readModels: readModelsResult };
};
