import type { ReleaseReason } from '../domain/inventory/events.js';
import { type OrderState, orderDecider, orderStreamName } from '../domain/order/decider.js';
import type { CancelReason } from '../domain/order/events.js';
import { type PaymentState, paymentDecider, paymentStreamName } from '../domain/payment/decider.js';
import { handleCommand } from './handleCommand.js';
import { loadAggregate } from './loadAggregate.js';
import { orderLockKey, type PurchaseContext } from './purchaseContext.js';
import { allowOnly } from './result.js';
import { settleAttempt } from './settlePayment.js';

type PlacedOrder = Exclude<OrderState, { status: 'none' }>;

/** Where advancing left the order. */
export type AdvanceOutcome = 'no_order' | 'confirmed' | 'cancelled' | 'rejected' | 'reserved';

const releaseLines = async (ctx: PurchaseContext, order: PlacedOrder, reason: ReleaseReason, now: Date) => {
  ctx.onStep?.('release-lines', order.order.orderId);
  for (const line of order.order.lines) {
    const released = await ctx.writers.release(line.ticketTypeId, order.order.orderId, reason, now);
    // Released already, or never reserved: either way the seats are not held.
    allowOnly(released, ['reservation_released', 'reservation_not_found']);
  }
};

const cancel = async (
  ctx: PurchaseContext,
  order: PlacedOrder,
  reason: CancelReason,
  refunded: boolean,
  now: Date,
) => {
  ctx.onStep?.('cancel-order', order.order.orderId);
  const result = await handleCommand(ctx.store, orderDecider, orderStreamName(order.order.orderId), {
    type: 'CancelOrder',
    data: { reason, refunded, now },
  });
  allowOnly(result, ['order_not_cancellable']);
};

const refund = async (
  ctx: PurchaseContext,
  orderId: string,
  payment: PaymentState,
  reason: string,
  now: Date,
) => {
  const paid = payment.succeededAttemptId ? payment.attempts.get(payment.succeededAttemptId) : undefined;
  if (!paid?.chargeId || payment.refunded) return;
  ctx.onStep?.('refund-payment', orderId);
  // The gateway refunds once per key, so a crash before the event below repeats nothing.
  await ctx.gateway.refund({
    idempotencyKey: `refund:${paid.attemptId}`,
    chargeId: paid.chargeId,
    amountCents: paid.amountCents,
  });
  ctx.onStep?.('record-refund', orderId);
  const result = await handleCommand(ctx.store, paymentDecider, paymentStreamName(orderId), {
    type: 'RefundPayment',
    data: { reason, now },
  });
  allowOnly(result, ['payment_already_refunded']);
};

/** Settles, from the gateway's books, pending attempts that did charge; true when one did. */
const recordLateCharges = async (ctx: PurchaseContext, orderId: string, payment: PaymentState, now: Date) => {
  for (const attempt of payment.attempts.values())
    if (attempt.status === 'pending' && (await settleAttempt(ctx, orderId, attempt, now)) === 'succeeded')
      return true;
  return false;
};

/**
 * Drives one order towards its end from whatever state its streams are in, so that running it
 * again after a crash at any step, or for an event seen twice, changes nothing more:
 * - paid and every seat still held → commit the seats → OrderConfirmed;
 * - paid but a hold already ran out → release the rest, refund → OrderCancelled(expired, refunded);
 * - declined → release → OrderCancelled(payment_failed);
 * - unpaid past its hold → release → OrderCancelled(expired);
 * - cancelled or rejected yet paid (a late payment) → refund;
 * - cancelled or rejected yet holding seats (a retried request that reserved again while the
 *   first recorded the order) → release them.
 * Seats move before the order's own event, so a crash in between is finished by the next run.
 * Callers hold the order's lock (see advanceOrder).
 */
export const advanceLockedOrder = async (
  ctx: PurchaseContext,
  orderId: string,
  now: Date,
): Promise<AdvanceOutcome> => {
  const { state: order } = await loadAggregate(ctx.store, orderDecider, orderStreamName(orderId));
  if (order.status === 'none') return 'no_order';
  let { state: payment } = await loadAggregate(ctx.store, paymentDecider, paymentStreamName(orderId));

  if (order.status === 'confirmed') return 'confirmed';
  if (order.status === 'cancelled' || order.status === 'rejected') {
    await releaseLines(ctx, order, order.status === 'rejected' ? 'order_rejected' : 'cancelled', now);
    if (!payment.succeededAttemptId && (await recordLateCharges(ctx, orderId, payment, now)))
      payment = (await loadAggregate(ctx.store, paymentDecider, paymentStreamName(orderId))).state;
    await refund(ctx, orderId, payment, 'order_not_fulfilled', now);
    return order.status;
  }
  if (order.status !== 'reserved') return 'reserved';

  if (payment.refunded) {
    // A crash came between the refund and the cancellation.
    await releaseLines(ctx, order, 'cancelled', now);
    await cancel(ctx, order, 'expired', true, now);
    return 'cancelled';
  }
  if (payment.succeededAttemptId) {
    const held = await Promise.all(
      order.order.lines.map((line) => ctx.writers.reservation(line.ticketTypeId, orderId)),
    );
    if (held.every((r) => r?.status === 'reserved' || r?.status === 'committed')) {
      ctx.onStep?.('commit-lines', orderId);
      for (const [i, line] of order.order.lines.entries()) {
        if (held[i]?.status === 'committed') continue;
        const committed = await ctx.writers.commit(line.ticketTypeId, orderId, now);
        allowOnly(committed, ['reservation_committed']);
      }
      ctx.onStep?.('confirm-order', orderId);
      const confirmed = await handleCommand(ctx.store, orderDecider, orderStreamName(orderId), {
        type: 'ConfirmOrder',
        data: { now },
      });
      allowOnly(confirmed, ['order_not_reserved']);
      return 'confirmed';
    }
    // The hold ran out while the payment was going through: the money goes back.
    await releaseLines(ctx, order, 'expired', now);
    await refund(ctx, orderId, payment, 'hold_expired', now);
    await cancel(ctx, order, 'expired', true, now);
    return 'cancelled';
  }

  const attempts = [...payment.attempts.values()];
  const pending = attempts.some((a) => a.status === 'pending');
  const latest = attempts.at(-1);
  if (!pending && latest?.status === 'failed' && !latest.retryable) {
    await releaseLines(ctx, order, 'payment_failed', now);
    await cancel(ctx, order, 'payment_failed', false, now);
    return 'cancelled';
  }
  if (order.expiresAt && now.getTime() >= Date.parse(order.expiresAt)) {
    if (pending && (await recordLateCharges(ctx, orderId, payment, now)))
      return advanceLockedOrder(ctx, orderId, now);
    await releaseLines(ctx, order, 'expired', now);
    await cancel(ctx, order, 'expired', false, now);
    return 'cancelled';
  }
  return 'reserved';
};

/** advanceLockedOrder under the order's lock. */
export const advanceOrder = (ctx: PurchaseContext, orderId: string, now: Date): Promise<AdvanceOutcome> =>
  ctx.locks.withLock(orderLockKey(orderId), () => advanceLockedOrder(ctx, orderId, now));
