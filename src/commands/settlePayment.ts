import { type PaymentAttempt, paymentDecider, paymentStreamName } from '../domain/payment/decider.js';
import { handleCommand } from './handleCommand.js';
import type { ChargeOutcome } from './paymentGateway.js';
import type { PurchaseContext } from './purchaseContext.js';
import { allowOnly } from './result.js';

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
  allowOnly(await recordChargeOutcome(ctx, orderId, attempt.attemptId, outcome, now), [
    'attempt_already_settled',
    'payment_already_succeeded',
  ]);
  return outcome?.status === 'succeeded' ? 'succeeded' : 'failed';
};

/**
 * Records what the gateway answered for an attempt: charged, declined, or (undefined) nothing
 * charged at all, which leaves the attempt free to be tried again.
 */
export const recordChargeOutcome = (
  ctx: PurchaseContext,
  orderId: string,
  attemptId: string,
  outcome: ChargeOutcome | undefined,
  now: Date,
) =>
  handleCommand(
    ctx.store,
    paymentDecider,
    paymentStreamName(orderId),
    outcome?.status === 'succeeded'
      ? { type: 'RecordPaymentSuccess', data: { attemptId, chargeId: outcome.chargeId, now } }
      : {
          type: 'RecordPaymentFailure',
          data: {
            attemptId,
            reason: outcome?.status === 'declined' ? outcome.reason : 'abandoned',
            retryable: !outcome,
            now,
          },
        },
  );
