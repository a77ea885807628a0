import { type OrderState, orderDecider, orderStreamName } from '../domain/order/decider.js';
import type { CancelReason, OrderLine, RejectReason } from '../domain/order/events.js';
import { type PaymentState, paymentDecider, paymentStreamName } from '../domain/payment/decider.js';
import type { EventStore } from '../eventstore/eventStore.js';
import { loadAggregate } from './loadAggregate.js';

export type OrderView = {
  orderId: string;
  customerId: string;
  showId: string;
  status: 'reserved' | 'confirmed' | 'cancelled' | 'rejected';
  lines: OrderLine[];
  totalCents: number;
  currency: string;
  createdAt: string;
  expiresAt: string | null;
  payment: { status: 'pending' | 'succeeded' | 'failed' | 'refunded'; attempts: number } | null;
  cancelReason?: CancelReason;
  rejectReason?: RejectReason;
  refunded?: boolean;
};

const paymentSummary = (payment: PaymentState): OrderView['payment'] => {
  const attempts = [...payment.attempts.values()];
  const latest = attempts.at(-1);
  if (!latest) return null;
  if (payment.refunded) return { status: 'refunded', attempts: attempts.length };
  const status = payment.succeededAttemptId ? 'succeeded' : latest.status;
  return { status, attempts: attempts.length };
};

/** The order as the write side has it, for answers that cannot wait for the read models. */
export const toOrderView = (order: OrderState, payment: PaymentState): OrderView | undefined => {
  if (order.status === 'none') return undefined;
  const { orderId, customerId, showId, lines, totalCents, currency, placedAt } = order.order;
  // OrderPlaced is never appended without its outcome, so 'placed' is not seen on its own.
  const status = order.status === 'placed' ? 'reserved' : order.status;
  const view: OrderView = {
    orderId,
    customerId,
    showId,
    status,
    lines,
    totalCents,
    currency,
    createdAt: placedAt,
    expiresAt: order.expiresAt ?? null,
    payment: paymentSummary(payment),
  };
  if (order.rejectReason) view.rejectReason = order.rejectReason;
  if (order.cancelReason) {
    view.cancelReason = order.cancelReason;
    // A late payment is refunded after the order was cancelled: the payment stream knows.
    view.refunded = Boolean(order.refunded) || payment.refunded;
  }
  return view;
};

export const readOrderView = async (store: EventStore, orderId: string): Promise<OrderView | undefined> => {
  const [order, payment] = await Promise.all([
    loadAggregate(store, orderDecider, orderStreamName(orderId)),
    loadAggregate(store, paymentDecider, paymentStreamName(orderId)),
  ]);
  return toOrderView(order.state, payment.state);
};
