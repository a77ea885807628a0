import { accept, type Decider, type Decision, reject } from '../decider.js';
import type { PaymentCommand, RequestPayment } from './commands.js';
import { type PaymentEvent, paymentEventSchema } from './events.js';

export type PaymentErrorCode =
  | 'invalid_payment'
  | 'payment_in_progress'
  | 'payment_already_succeeded'
  | 'attempt_not_found'
  | 'attempt_already_settled'
  | 'payment_not_succeeded'
  | 'payment_already_refunded';

export type AttemptStatus = 'pending' | 'succeeded' | 'failed';

export type PaymentAttempt = {
  attemptId: string;
  idempotencyKey: string;
  requestHash: string;
  amountCents: number;
  status: AttemptStatus;
  retryable?: boolean;
  reason?: string;
  chargeId?: string;
};

export type PaymentState = {
  orderId?: string;
  attempts: ReadonlyMap<string, PaymentAttempt>;
  succeededAttemptId?: string;
  refunded: boolean;
};

export const attemptByKey = (state: PaymentState, key: string): PaymentAttempt | undefined => {
  for (const attempt of state.attempts.values()) if (attempt.idempotencyKey === key) return attempt;
  return undefined;
};

const decideRequest = (
  { data }: RequestPayment,
  state: PaymentState,
): Decision<PaymentEvent, PaymentErrorCode> => {
  const seen = attemptByKey(state, data.idempotencyKey);
  // A key already seen answers with its own attempt; only a failure that happened before
  // charging is tried again, under the same attempt id and amount.
  if (seen && !(seen.status === 'failed' && seen.retryable)) return accept();
  if (!seen && (!Number.isInteger(data.amountCents) || data.amountCents < 0))
    return reject('invalid_payment', 'amountCents must be a non-negative integer');
  if (state.succeededAttemptId !== undefined)
    return reject('payment_already_succeeded', 'this order is already paid');
  for (const attempt of state.attempts.values())
    if (attempt.status === 'pending')
      return reject('payment_in_progress', `attempt ${attempt.attemptId} is still being charged`);
  return accept({
    type: 'PaymentRequested',
    data: {
      orderId: data.orderId,
      attemptId: seen?.attemptId ?? data.attemptId,
      idempotencyKey: data.idempotencyKey,
      requestHash: seen?.requestHash ?? data.requestHash,
      amountCents: seen?.amountCents ?? data.amountCents,
      currency: data.currency,
      requestedAt: data.now.toISOString(),
    },
  });
};

const decide = (command: PaymentCommand, state: PaymentState): Decision<PaymentEvent, PaymentErrorCode> => {
  if (command.type === 'RequestPayment') return decideRequest(command, state);
  const orderId = state.orderId ?? '';
  if (command.type === 'RefundPayment') {
    const paid = state.succeededAttemptId ? state.attempts.get(state.succeededAttemptId) : undefined;
    if (!paid) return reject('payment_not_succeeded', 'nothing was charged, so nothing can be refunded');
    if (state.refunded) return reject('payment_already_refunded', 'this payment is already refunded');
    return accept({
      type: 'PaymentRefunded',
      data: {
        orderId,
        attemptId: paid.attemptId,
        amountCents: paid.amountCents,
        reason: command.data.reason,
        refundedAt: command.data.now.toISOString(),
      },
    });
  }
  const attempt = state.attempts.get(command.data.attemptId);
  if (!attempt) return reject('attempt_not_found', `no payment attempt ${command.data.attemptId}`);
  switch (command.type) {
    case 'RecordPaymentSuccess':
      if (attempt.status === 'succeeded') return accept();
      if (attempt.status === 'failed')
        return reject('attempt_already_settled', `attempt ${attempt.attemptId} already failed`);
      if (state.succeededAttemptId !== undefined)
        return reject('payment_already_succeeded', 'another attempt already paid this order');
      return accept({
        type: 'PaymentSucceeded',
        data: {
          orderId,
          attemptId: attempt.attemptId,
          chargeId: command.data.chargeId,
          amountCents: attempt.amountCents,
          succeededAt: command.data.now.toISOString(),
        },
      });
    case 'RecordPaymentFailure':
      if (attempt.status === 'failed') return accept();
      if (attempt.status === 'succeeded')
        return reject('attempt_already_settled', `attempt ${attempt.attemptId} already succeeded`);
      return accept({
        type: 'PaymentFailed',
        data: {
          orderId,
          attemptId: attempt.attemptId,
          reason: command.data.reason,
          retryable: command.data.retryable,
          failedAt: command.data.now.toISOString(),
        },
      });
  }
};

const withAttempt = (
  state: PaymentState,
  attemptId: string,
  change: Partial<PaymentAttempt>,
): PaymentState => {
  const attempt = state.attempts.get(attemptId);
  if (!attempt) return state;
  const attempts = new Map(state.attempts);
  attempts.set(attemptId, { ...attempt, ...change });
  return { ...state, attempts };
};

const evolve = (state: PaymentState, event: PaymentEvent): PaymentState => {
  switch (event.type) {
    case 'PaymentRequested': {
      const { orderId, attemptId, idempotencyKey, requestHash, amountCents } = event.data;
      const attempts = new Map(state.attempts);
      attempts.set(attemptId, { attemptId, idempotencyKey, requestHash, amountCents, status: 'pending' });
      return { ...state, orderId, attempts };
    }
    case 'PaymentSucceeded':
      return {
        ...withAttempt(state, event.data.attemptId, { status: 'succeeded', chargeId: event.data.chargeId }),
        succeededAttemptId: event.data.attemptId,
      };
    case 'PaymentFailed':
      return withAttempt(state, event.data.attemptId, {
        status: 'failed',
        reason: event.data.reason,
        retryable: event.data.retryable,
      });
    case 'PaymentRefunded':
      return { ...state, refunded: true };
  }
};

export const paymentDecider: Decider<PaymentState, PaymentCommand, PaymentEvent, PaymentErrorCode> = {
  decide,
  evolve,
  initialState: () => ({ attempts: new Map(), refunded: false }),
  parseEvent: (raw) => paymentEventSchema.parse(raw),
};

export const paymentStreamName = (orderId: string): string => `payment-${orderId}`;
