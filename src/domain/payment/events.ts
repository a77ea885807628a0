import { z } from 'zod';

const paymentRequested = z.object({
  type: z.literal('PaymentRequested'),
  data: z.object({
    orderId: z.uuid(),
    attemptId: z.string().min(1),
    idempotencyKey: z.string().min(1),
    /** Hash of the request body, so that a reused Idempotency-Key with another body is caught. */
    requestHash: z.string(),
    amountCents: z.number().int().nonnegative(),
    currency: z.string(),
    requestedAt: z.iso.datetime(),
  }),
});

const paymentSucceeded = z.object({
  type: z.literal('PaymentSucceeded'),
  data: z.object({
    orderId: z.uuid(),
    attemptId: z.string().min(1),
    chargeId: z.string().min(1),
    amountCents: z.number().int().nonnegative(),
    succeededAt: z.iso.datetime(),
  }),
});

// retryable: the gateway failed before charging (the same attempt may be tried again);
// otherwise the payment was declined and the order is to be cancelled.
const paymentFailed = z.object({
  type: z.literal('PaymentFailed'),
  data: z.object({
    orderId: z.uuid(),
    attemptId: z.string().min(1),
    reason: z.string().min(1),
    retryable: z.boolean(),
    failedAt: z.iso.datetime(),
  }),
});

const paymentRefunded = z.object({
  type: z.literal('PaymentRefunded'),
  data: z.object({
    orderId: z.uuid(),
    attemptId: z.string().min(1),
    amountCents: z.number().int().nonnegative(),
    reason: z.string().min(1),
    refundedAt: z.iso.datetime(),
  }),
});

export const paymentEventSchema = z.discriminatedUnion('type', [
  paymentRequested,
  paymentSucceeded,
  paymentFailed,
  paymentRefunded,
]);
export type PaymentEvent = z.infer<typeof paymentEventSchema>;
