import { describe, it } from 'vitest';
import { deciderSpec } from '../../../test/support/deciderSpec.js';
import type { PaymentCommand } from './commands.js';
import { paymentDecider } from './decider.js';
import type { PaymentEvent } from './events.js';

const spec = deciderSpec(paymentDecider);
const orderId = '3e1d7c1a-52b8-5c7e-9d43-1f0f6a7b8c9d';
const now = new Date('2026-12-01T10:00:00.000Z');
const at = now.toISOString();

const request = (attemptId: string, idempotencyKey: string): PaymentCommand => ({
  type: 'RequestPayment',
  data: { orderId, attemptId, idempotencyKey, requestHash: 'h', amountCents: 9000, currency: 'EUR', now },
});
const requested = (attemptId: string, idempotencyKey: string): PaymentEvent => ({
  type: 'PaymentRequested',
  data: {
    orderId,
    attemptId,
    idempotencyKey,
    requestHash: 'h',
    amountCents: 9000,
    currency: 'EUR',
    requestedAt: at,
  },
});
const succeeded = (attemptId: string): PaymentEvent => ({
  type: 'PaymentSucceeded',
  data: { orderId, attemptId, chargeId: `ch_${attemptId}`, amountCents: 9000, succeededAt: at },
});
const failed = (attemptId: string, retryable: boolean): PaymentEvent => ({
  type: 'PaymentFailed',
  data: {
    orderId,
    attemptId,
    reason: retryable ? 'gateway_unavailable' : 'declined',
    retryable,
    failedAt: at,
  },
});
const succeed = (attemptId: string): PaymentCommand => ({
  type: 'RecordPaymentSuccess',
  data: { attemptId, chargeId: `ch_${attemptId}`, now },
});
const fail = (attemptId: string, retryable = false): PaymentCommand => ({
  type: 'RecordPaymentFailure',
  data: { attemptId, reason: retryable ? 'gateway_unavailable' : 'declined', retryable, now },
});
const refund: PaymentCommand = { type: 'RefundPayment', data: { reason: 'hold_expired', now } };

describe('payment decider', () => {
  describe('RequestPayment', () => {
    it('starts an attempt', () =>
      spec
        .given([])
        .when(request('a1', 'k1'))
        .thenEmits([requested('a1', 'k1')]));
    it('answers a key already seen with that attempt, adding nothing', () => {
      spec
        .given([requested('a1', 'k1')])
        .when(request('a2', 'k1'))
        .thenNothingHappens();
      spec
        .given([requested('a1', 'k1'), succeeded('a1')])
        .when(request('a2', 'k1'))
        .thenNothingHappens();
      spec
        .given([requested('a1', 'k1'), failed('a1', false)])
        .when(request('a2', 'k1'))
        .thenNothingHappens();
    });
    it('tries the same attempt again when it failed before charging', () =>
      spec
        .given([requested('a1', 'k1'), failed('a1', true)])
        .when(request('a2', 'k1'))
        .thenEmits([requested('a1', 'k1')]));
    it('refuses a new attempt once the order is paid', () =>
      spec
        .given([requested('a1', 'k1'), succeeded('a1')])
        .when(request('a2', 'k2'))
        .thenRejects('payment_already_succeeded'));
    it('refuses a new attempt while another is being charged', () =>
      spec
        .given([requested('a1', 'k1')])
        .when(request('a2', 'k2'))
        .thenRejects('payment_in_progress'));
    it('allows a new attempt after a decline', () =>
      spec
        .given([requested('a1', 'k1'), failed('a1', false)])
        .when(request('a2', 'k2'))
        .thenEmits([requested('a2', 'k2')]));
    it('does not retry a failed attempt while another attempt is being charged', () =>
      spec
        .given([requested('a1', 'k1'), failed('a1', true), requested('a2', 'k2')])
        .when(request('a9', 'k1'))
        .thenRejects('payment_in_progress'));
    it('does not retry a failed attempt once another attempt paid', () =>
      spec
        .given([requested('a1', 'k1'), failed('a1', true), requested('a2', 'k2'), succeeded('a2')])
        .when(request('a9', 'k1'))
        .thenRejects('payment_already_succeeded'));
    it('retries a failed attempt with its original amount, whatever the retry says', () =>
      spec
        .given([requested('a1', 'k1'), failed('a1', true)])
        .when({
          type: 'RequestPayment',
          data: {
            orderId,
            attemptId: 'a9',
            idempotencyKey: 'k1',
            requestHash: 'h',
            amountCents: -5,
            currency: 'EUR',
            now,
          },
        })
        .thenEmits([requested('a1', 'k1')]));
    it('refuses a negative amount', () =>
      spec
        .given([])
        .when({
          type: 'RequestPayment',
          data: {
            orderId,
            attemptId: 'a1',
            idempotencyKey: 'k1',
            requestHash: 'h',
            amountCents: -1,
            currency: 'EUR',
            now,
          },
        })
        .thenRejects('invalid_payment'));
  });

  describe('recording outcomes', () => {
    it('records a success once; recording it again changes nothing', () => {
      spec
        .given([requested('a1', 'k1')])
        .when(succeed('a1'))
        .thenEmits([succeeded('a1')]);
      spec
        .given([requested('a1', 'k1'), succeeded('a1')])
        .when(succeed('a1'))
        .thenNothingHappens();
    });
    it('never records a second success for the order', () =>
      spec
        .given([requested('a1', 'k1'), failed('a1', false), requested('a2', 'k2'), succeeded('a2')])
        .when(succeed('a1'))
        .thenRejects('attempt_already_settled'));
    it('records a failure; a success after it is refused', () => {
      spec
        .given([requested('a1', 'k1')])
        .when(fail('a1'))
        .thenEmits([failed('a1', false)]);
      spec
        .given([requested('a1', 'k1'), failed('a1', false)])
        .when(fail('a1'))
        .thenNothingHappens();
      spec
        .given([requested('a1', 'k1'), failed('a1', false)])
        .when(succeed('a1'))
        .thenRejects('attempt_already_settled');
    });
    it('refuses a failure after a success', () =>
      spec
        .given([requested('a1', 'k1'), succeeded('a1')])
        .when(fail('a1'))
        .thenRejects('attempt_already_settled'));
    it('refuses outcomes for an unknown attempt', () =>
      spec.given([]).when(succeed('a9')).thenRejects('attempt_not_found'));
  });

  describe('RefundPayment', () => {
    it('refunds the successful attempt', () =>
      spec
        .given([requested('a1', 'k1'), succeeded('a1')])
        .when(refund)
        .thenEmits([
          {
            type: 'PaymentRefunded',
            data: { orderId, attemptId: 'a1', amountCents: 9000, reason: 'hold_expired', refundedAt: at },
          },
        ]));
    it('refuses a second refund', () =>
      spec
        .given([
          requested('a1', 'k1'),
          succeeded('a1'),
          {
            type: 'PaymentRefunded',
            data: { orderId, attemptId: 'a1', amountCents: 9000, reason: 'x', refundedAt: at },
          },
        ])
        .when(refund)
        .thenRejects('payment_already_refunded'));
    it('refuses to refund what was never charged', () => {
      spec.given([]).when(refund).thenRejects('payment_not_succeeded');
      spec
        .given([requested('a1', 'k1'), failed('a1', false)])
        .when(refund)
        .thenRejects('payment_not_succeeded');
    });
  });
});
