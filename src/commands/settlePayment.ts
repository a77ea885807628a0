import { type PaymentAttempt, paymentDecider, paymentStreamName } from '../domain/payment/decider.js';
import { handleCommand } from './handleCommand.js';
import type { PurchaseContext } from './purchaseContext.js';

/**
 * Records what the gateway says of an attempt whose outcome the log lacks (the process that
 * charged stopped before recording it). With `abandon`, an attempt the gateway never charged is
 * recorded as failed before charging (a retry with its key may still try again); without it,
 * such an attempt is left pending, as its charge may still be on its way.
 */
export const settleAttempt = async (
  ctx: PurchaseContext,
  orderId: string,
  attempt: PaymentAttempt,
  now: Date,
  options: { abandon?: boolean } = {},
): Promise<'succeeded' | 'failed' | 'pending'> => {
  const outcome = await ctx.gateway.findCharge(attempt.attemptId);
  if (!outcome && !options.abandon) return 'pending';
  if (outcome?.status === 'succeeded') ctx.onStep?.('record-late-charge', orderId);
  const recorded = await handleCommand(
    ctx.store,
    paymentDecider,
    paymentStreamName(orderId),
    outcome?.status === 'succeeded'
      ? {
          type: 'RecordPaymentSuccess',
          data: { attemptId: attempt.attemptId, chargeId: outcome.chargeId, now },
        }
      : {
          type: 'RecordPaymentFailure',
          data: {
            attemptId: attempt.attemptId,
            reason: outcome?.status === 'declined' ? outcome.reason : 'abandoned',
            retryable: !outcome,
            now,
          },
        },
  );
  if (
    !recorded.ok &&
    recorded.error.code !== 'attempt_already_settled' &&
    recorded.error.code !== 'payment_already_succeeded'
  )
    throw recorded.error;
  return outcome?.status === 'succeeded' ? 'succeeded' : 'failed';
};
