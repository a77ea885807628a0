import { z } from 'zod';

// hold_expired: a retried order whose earlier reservation was already given back to the pool.
export const rejectReasons = [
  'sold_out',
  'purchase_limit_exceeded',
  'sales_not_open',
  'sales_closed',
  'hold_expired',
] as const;
export type RejectReason = (typeof rejectReasons)[number];
export const cancelReasons = ['payment_failed', 'expired', 'customer_cancelled'] as const;
export type CancelReason = (typeof cancelReasons)[number];

export const orderLineSchema = z.object({
  ticketTypeId: z.uuid(),
  quantity: z.number().int().positive(),
  unitPriceCents: z.number().int().nonnegative(),
});
export type OrderLine = z.infer<typeof orderLineSchema>;

const orderPlaced = z.object({
  type: z.literal('OrderPlaced'),
  data: z.object({
    orderId: z.uuid(),
    customerId: z.string().min(1),
    showId: z.uuid(),
    lines: z.array(orderLineSchema).min(1),
    totalCents: z.number().int().nonnegative(),
    currency: z.string(),
    /** Hash of the request body, so that a reused Idempotency-Key with another body is caught. */
    requestHash: z.string(),
    placedAt: z.iso.datetime(),
  }),
});

// Not in the first event table of DESIGN.md: PLACED → RESERVED needs an event of its own,
// and it carries the hold's expiry that the API shows.
const orderReserved = z.object({
  type: z.literal('OrderReserved'),
  data: z.object({ orderId: z.uuid(), expiresAt: z.iso.datetime(), reservedAt: z.iso.datetime() }),
});

const orderRejected = z.object({
  type: z.literal('OrderRejected'),
  data: z.object({ orderId: z.uuid(), reason: z.enum(rejectReasons), rejectedAt: z.iso.datetime() }),
});

const orderConfirmed = z.object({
  type: z.literal('OrderConfirmed'),
  data: z.object({ orderId: z.uuid(), confirmedAt: z.iso.datetime() }),
});

const orderCancelled = z.object({
  type: z.literal('OrderCancelled'),
  data: z.object({
    orderId: z.uuid(),
    reason: z.enum(cancelReasons),
    refunded: z.boolean(),
    cancelledAt: z.iso.datetime(),
  }),
});

export const orderEventSchema = z.discriminatedUnion('type', [
  orderPlaced,
  orderReserved,
  orderRejected,
  orderConfirmed,
  orderCancelled,
]);
export type OrderEvent = z.infer<typeof orderEventSchema>;
export type OrderPlaced = z.infer<typeof orderPlaced>;
