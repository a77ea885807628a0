import { v5 as uuidv5 } from 'uuid';
import { orderDecider, orderStreamName } from '../domain/order/decider.js';
import { attemptByKey, paymentDecider, paymentStreamName } from '../domain/payment/decider.js';
import { advanceOrder } from './advanceOrder.js';
import { handleCommand } from './handleCommand.js';
import { loadAggregate } from './loadAggregate.js';
import { type OrderView, readOrderView } from './orderView.js';
import { PaymentGatewayUnavailableError } from './paymentGateway.js';
import { orderLockKey, type PurchaseContext } from './purchaseContext.js';
import { requestHash } from './requestHash.js';
import { refuse, succeed, type UseCaseResult } from './result.js';
import { recordChargeOutcome, settleAttempt } from './settlePayment.js';

export type PayOrderInput = {
  orderId: string;
  /** The caller; an order of someone else reads as not found. Absent for an admin. */
  customerId?: string;
  idempotencyKey: string;
  paymentToken: string;
  now: Date;
};

export type PaymentAnswer = { attemptId: string; status: 'succeeded' | 'failed'; reason?: string };

export type PaidOrder = { order: OrderView; payment: PaymentAnswer; replayed: boolean };

export type PayOrderCode =
  | 'order_not_found'
  | 'order_not_payable'
  | 'hold_expired'
  | 'idempotency_key_reused';

const ATTEMPT_NAMESPACE = '2b8c6f0e-1d7a-4e53-9c1b-8a4d2e6f7b35';

/** Attempt ids derive from the order and the key, so concurrent duplicates share one attempt. */
export const attemptIdFor = (orderId: string, idempotencyKey: string): string =>
  uuidv5(`${orderId}:${idempotencyKey}`, ATTEMPT_NAMESPACE);

/** The gateway failed before charging; the same request may be sent again (API: 503). */
export class PaymentUnavailableError extends Error {
  override readonly name = 'PaymentUnavailableError';
}

const answer = async (ctx: PurchaseContext, orderId: string, payment: PaymentAnswer, replayed: boolean) =>
  succeed({ order: (await readOrderView(ctx.store, orderId))!, payment, replayed });

/**
 * Pays for a reserved order: record the attempt, charge the gateway with the attempt's key
 * (so a retried charge never charges twice), record the outcome, then run the saga step at
 * once so the answer is usually already confirmed or cancelled. The same key again answers
 * with that attempt's result.
 */
export const payOrder = async (
  ctx: PurchaseContext,
  { orderId, customerId, idempotencyKey, paymentToken, now }: PayOrderInput,
): Promise<UseCaseResult<PaidOrder, PayOrderCode>> => {
  const { state: order } = await loadAggregate(ctx.store, orderDecider, orderStreamName(orderId));
  if (order.status === 'none' || (customerId !== undefined && order.order.customerId !== customerId))
    return refuse('order_not_found', `no order ${orderId}`);
  const hash = requestHash({ paymentToken });
  const payments = paymentStreamName(orderId);
  const { state: payment } = await loadAggregate(ctx.store, paymentDecider, payments);
  const seen = attemptByKey(payment, idempotencyKey);
  if (seen && seen.requestHash !== hash)
    return refuse('idempotency_key_reused', 'this Idempotency-Key was used with another request');
  if (seen?.status === 'succeeded')
    return answer(ctx, orderId, { attemptId: seen.attemptId, status: 'succeeded' }, true);
  if (seen?.status === 'failed' && !seen.retryable)
    return answer(ctx, orderId, { attemptId: seen.attemptId, status: 'failed', reason: seen.reason }, true);

  if (seen?.status === 'pending' && order.status !== 'reserved') {
    // A retry of an attempt whose process stopped mid-way, for an order that has since ended:
    // settle it from the gateway's books (a charge that went through is then refunded).
    const settled = await ctx.locks.withLock(orderLockKey(orderId), () =>
      settleAttempt(ctx, orderId, seen, now),
    );
    if (settled === 'succeeded') {
      await advanceOrder(ctx, orderId, now);
      return answer(ctx, orderId, { attemptId: seen.attemptId, status: 'succeeded' }, true);
    }
  }
  if (order.status !== 'reserved') return refuse('order_not_payable', `order ${orderId} is ${order.status}`);
  if (order.expiresAt && now.getTime() >= Date.parse(order.expiresAt))
    return refuse('hold_expired', `the seats were held until ${order.expiresAt}`);

  const attemptId = seen?.attemptId ?? attemptIdFor(orderId, idempotencyKey);
  const requested = await handleCommand(ctx.store, paymentDecider, payments, {
    type: 'RequestPayment',
    data: {
      orderId,
      attemptId,
      idempotencyKey,
      requestHash: hash,
      amountCents: order.order.totalCents,
      currency: order.order.currency,
      now,
    },
  });
  if (!requested.ok) return refuse('order_not_payable', requested.error.message);

  let outcome: Awaited<ReturnType<typeof ctx.gateway.charge>>;
  try {
    outcome = await ctx.gateway.charge({
      idempotencyKey: attemptId,
      amountCents: order.order.totalCents,
      currency: order.order.currency,
      paymentToken,
    });
  } catch (error) {
    if (!(error instanceof PaymentGatewayUnavailableError)) throw error;
    await handleCommand(ctx.store, paymentDecider, payments, {
      type: 'RecordPaymentFailure',
      data: { attemptId, reason: 'gateway_unavailable', retryable: true, now },
    });
    throw new PaymentUnavailableError(
      'the payment gateway is unavailable; retry with the same Idempotency-Key',
      {
        cause: error,
      },
    );
  }
  const recorded = await recordChargeOutcome(ctx, orderId, attemptId, outcome, now);
  if (!recorded.ok) throw recorded.error;

  // The process manager would do this too; doing it now makes the answer final.
  await advanceOrder(ctx, orderId, now);
  return answer(
    ctx,
    orderId,
    outcome.status === 'succeeded'
      ? { attemptId, status: 'succeeded' }
      : { attemptId, status: 'failed', reason: outcome.reason },
    false,
  );
};
