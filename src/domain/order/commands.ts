import type { CancelReason, OrderLine, RejectReason } from './events.js';

/** What reserving the order's lines on their inventories came to. */
export type ReservationOutcome =
  | { status: 'reserved'; expiresAt: string }
  | { status: 'rejected'; reason: RejectReason };

export type PlaceOrder = {
  type: 'PlaceOrder';
  data: {
    orderId: string;
    customerId: string;
    showId: string;
    lines: OrderLine[];
    currency: string;
    requestHash: string;
    outcome: ReservationOutcome;
    now: Date;
  };
};
export type ConfirmOrder = { type: 'ConfirmOrder'; data: { now: Date } };
export type CancelOrder = {
  type: 'CancelOrder';
  data: { reason: CancelReason; refunded: boolean; now: Date };
};

export type OrderCommand = PlaceOrder | ConfirmOrder | CancelOrder;
