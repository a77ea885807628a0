import { accept, type Decider, type Decision, reject } from '../decider.js';
import type { OrderCommand, PlaceOrder } from './commands.js';
import {
  type CancelReason,
  type OrderEvent,
  type OrderPlaced,
  orderEventSchema,
  type RejectReason,
} from './events.js';

export type OrderErrorCode =
  | 'invalid_order'
  | 'order_already_placed'
  | 'order_not_found'
  | 'order_not_reserved'
  | 'order_not_cancellable';

export const MAX_ORDER_LINES = 10;

export type OrderStatus = 'placed' | 'reserved' | 'confirmed' | 'cancelled' | 'rejected';

export type OrderState =
  | { status: 'none' }
  | {
      status: OrderStatus;
      order: OrderPlaced['data'];
      expiresAt?: string;
      rejectReason?: RejectReason;
      cancelReason?: CancelReason;
      refunded?: boolean;
    };

/** What is wrong with an order's lines, if anything: the rule placeOrder checks before reserving too. */
export const orderLinesProblem = (
  lines: readonly { ticketTypeId: string; quantity: number }[],
): string | undefined => {
  if (lines.length < 1 || lines.length > MAX_ORDER_LINES) return `an order has 1 to ${MAX_ORDER_LINES} lines`;
  if (new Set(lines.map((l) => l.ticketTypeId)).size !== lines.length)
    return 'each ticket type may appear on one line only';
  for (const line of lines)
    if (!Number.isInteger(line.quantity) || line.quantity < 1) return 'quantities must be positive integers';
  return undefined;
};

const invalidOrderReason = ({ data }: PlaceOrder): string | undefined => {
  const problem = orderLinesProblem(data.lines);
  if (problem) return problem;
  for (const line of data.lines)
    if (!Number.isInteger(line.unitPriceCents) || line.unitPriceCents < 0)
      return 'unit prices must be non-negative integers';
  return undefined;
};

const decide = (command: OrderCommand, state: OrderState): Decision<OrderEvent, OrderErrorCode> => {
  if (command.type === 'PlaceOrder') {
    if (state.status !== 'none')
      return reject('order_already_placed', `order ${command.data.orderId} exists`);
    const invalid = invalidOrderReason(command);
    if (invalid) return reject('invalid_order', invalid);
    const { orderId, customerId, showId, lines, currency, requestHash, outcome, now } = command.data;
    const at = now.toISOString();
    const totalCents = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
    const placed: OrderEvent = {
      type: 'OrderPlaced',
      data: { orderId, customerId, showId, lines, totalCents, currency, requestHash, placedAt: at },
    };
    return outcome.status === 'reserved'
      ? accept<OrderEvent>(placed, {
          type: 'OrderReserved',
          data: { orderId, expiresAt: outcome.expiresAt, reservedAt: at },
        })
      : accept<OrderEvent>(placed, {
          type: 'OrderRejected',
          data: { orderId, reason: outcome.reason, rejectedAt: at },
        });
  }
  if (state.status === 'none') return reject('order_not_found', 'no such order');
  const { orderId } = state.order;
  switch (command.type) {
    case 'ConfirmOrder':
      if (state.status !== 'reserved')
        return reject('order_not_reserved', `order ${orderId} is ${state.status}`);
      return accept({
        type: 'OrderConfirmed',
        data: { orderId, confirmedAt: command.data.now.toISOString() },
      });
    case 'CancelOrder':
      if (state.status !== 'reserved')
        return reject('order_not_cancellable', `order ${orderId} is ${state.status}`);
      return accept({
        type: 'OrderCancelled',
        data: {
          orderId,
          reason: command.data.reason,
          refunded: command.data.refunded,
          cancelledAt: command.data.now.toISOString(),
        },
      });
  }
};

const evolve = (state: OrderState, event: OrderEvent): OrderState => {
  if (event.type === 'OrderPlaced') return { status: 'placed', order: event.data };
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'OrderReserved':
      return { ...state, status: 'reserved', expiresAt: event.data.expiresAt };
    case 'OrderRejected':
      return { ...state, status: 'rejected', rejectReason: event.data.reason };
    case 'OrderConfirmed':
      return { ...state, status: 'confirmed' };
    case 'OrderCancelled':
      return {
        ...state,
        status: 'cancelled',
        cancelReason: event.data.reason,
        refunded: event.data.refunded,
      };
  }
};

export const orderDecider: Decider<OrderState, OrderCommand, OrderEvent, OrderErrorCode> = {
  decide,
  evolve,
  initialState: () => ({ status: 'none' }),
  parseEvent: (raw) => orderEventSchema.parse(raw),
};

export const orderStreamName = (orderId: string): string => `order-${orderId}`;
