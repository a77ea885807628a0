import { z } from 'zod';
import { cancelReasons, rejectReasons } from '../../domain/order/events.js';

export const orderSchema = z
  .object({
    orderId: z.uuid(),
    customerId: z.uuid(),
    showId: z.uuid(),
    status: z.enum(['reserved', 'confirmed', 'cancelled', 'rejected']),
    lines: z.array(
      z.object({ ticketTypeId: z.uuid(), quantity: z.number().int(), unitPriceCents: z.number().int() }),
    ),
    totalCents: z.number().int(),
    currency: z.string(),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso
      .datetime()
      .nullable()
      .meta({ description: 'Until when the seats are held; null for a rejected order.' }),
    payment: z
      .object({
        status: z.enum(['pending', 'succeeded', 'failed', 'refunded']),
        attempts: z.number().int(),
      })
      .nullable(),
    cancelReason: z.enum(cancelReasons).optional(),
    rejectReason: z
      .enum(rejectReasons)
      .optional()
      .meta({ description: 'Why a rejected order got no seats.' }),
    refunded: z.boolean().optional().meta({ description: 'On a cancelled order: whether money came back.' }),
  })
  .meta({ description: 'An order as it stands now.' });

export type OrderBody = z.infer<typeof orderSchema>;

export const orderParamsSchema = z.object({ orderId: z.uuid() });

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const idempotencyHeadersSchema = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    // Lone surrogates cannot be hashed into an order id (found by the fuzz suite: it was a 500).
    .refine((key) => !LONE_SURROGATE.test(key), 'must be well-formed text')
    .meta({ description: 'Makes the request safe to retry: the same key and body answer the same.' }),
});
