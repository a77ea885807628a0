import { orderDecider, orderStreamName } from '../domain/order/decider.js';
import { paymentDecider, paymentStreamName } from '../domain/payment/decider.js';
import { handleCommand } from './handleCommand.js';
import { loadAggregate } from './loadAggregate.js';
import { type OrderView, readOrderView } from './orderView.js';
import { orderLockKey, type PurchaseContext } from './purchaseContext.js';
import { refuse, succeed, type UseCaseResult } from './result.js';

export type CancelOrderCode = 'order_not_found' | 'order_not_cancellable';

/**
 * The customer gives a reserved order up: its seats go back to the pool. Cancelling an order
 * that is already cancelled answers with it; a paid or confirmed one cannot be cancelled here.
 */
export const cancelOrder = (
  ctx: PurchaseContext,
  { orderId, customerId, now }: { orderId: string; customerId?: string; now: Date },
): Promise<UseCaseResult<OrderView, CancelOrderCode>> =>
  ctx.locks.withLock(orderLockKey(orderId), async () => {
    const { state: order } = await loadAggregate(ctx.store, orderDecider, orderStreamName(orderId));
    if (order.status === 'none' || (customerId !== undefined && order.order.customerId !== customerId))
      return refuse('order_not_found', `no order ${orderId}`);
    if (order.status === 'cancelled') return succeed((await readOrderView(ctx.store, orderId))!);
    if (order.status !== 'reserved')
      return refuse('order_not_cancellable', `order ${orderId} is ${order.status}`);
    const { state: payment } = await loadAggregate(ctx.store, paymentDecider, paymentStreamName(orderId));
    if (payment.succeededAttemptId)
      return refuse('order_not_cancellable', `order ${orderId} is paid and being confirmed`);
    if ([...payment.attempts.values()].some((a) => a.status === 'pending'))
      return refuse('order_not_cancellable', `a payment for order ${orderId} is going through`);
    for (const line of order.order.lines) {
      const released = await ctx.writers.release(line.ticketTypeId, orderId, 'cancelled', now);
      if (!released.ok && released.error.code !== 'reservation_released') throw released.error;
    }
    const cancelled = await handleCommand(ctx.store, orderDecider, orderStreamName(orderId), {
      type: 'CancelOrder',
      data: { reason: 'customer_cancelled', refunded: false, now },
    });
    if (!cancelled.ok) throw cancelled.error;
    return succeed((await readOrderView(ctx.store, orderId))!);
  });
