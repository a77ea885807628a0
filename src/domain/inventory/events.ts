import { z } from 'zod';

export const releaseReasons = ['payment_failed', 'expired', 'cancelled', 'order_rejected'] as const;
export type ReleaseReason = (typeof releaseReasons)[number];

const inventoryInitialized = z.object({
  type: z.literal('InventoryInitialized'),
  data: z.object({
    ticketTypeId: z.uuid(),
    showId: z.uuid(),
    capacity: z.number().int().positive(),
    maxPerCustomer: z.number().int().positive(),
    holdSeconds: z.number().int().positive(),
    salesOpenAt: z.iso.datetime(),
    initializedAt: z.iso.datetime(),
  }),
});

const seatsReserved = z.object({
  type: z.literal('SeatsReserved'),
  data: z.object({
    reservationId: z.string().min(1),
    customerId: z.string().min(1),
    quantity: z.number().int().positive(),
    reservedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
  }),
});

// Committed and released events repeat the customer and quantity so that a projection
// can apply them without remembering the reservation.
const reservationCommitted = z.object({
  type: z.literal('ReservationCommitted'),
  data: z.object({
    reservationId: z.string().min(1),
    customerId: z.string().min(1),
    quantity: z.number().int().positive(),
    committedAt: z.iso.datetime(),
  }),
});

const reservationReleased = z.object({
  type: z.literal('ReservationReleased'),
  data: z.object({
    reservationId: z.string().min(1),
    customerId: z.string().min(1),
    quantity: z.number().int().positive(),
    reason: z.enum(releaseReasons),
    releasedAt: z.iso.datetime(),
  }),
});

const salesOpened = z.object({
  type: z.literal('SalesOpened'),
  data: z.object({ openedAt: z.iso.datetime() }),
});

const salesClosed = z.object({
  type: z.literal('SalesClosed'),
  data: z.object({ closedAt: z.iso.datetime() }),
});

export const inventoryEventSchema = z.discriminatedUnion('type', [
  inventoryInitialized,
  seatsReserved,
  reservationCommitted,
  reservationReleased,
  salesOpened,
  salesClosed,
]);
export type InventoryEvent = z.infer<typeof inventoryEventSchema>;
export type InventoryInitialized = z.infer<typeof inventoryInitialized>;
