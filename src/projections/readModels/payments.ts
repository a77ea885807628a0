import type { PaymentEvent } from '../../domain/payment/events.js';
import type { Transaction } from '../projection.js';

/** Payment attempts, and the payment summary each order shows. */
export const applyPaymentEvent = async (
  tx: Transaction,
  schema: string,
  event: PaymentEvent,
): Promise<void> => {
  const summarize = (status: string, extra = '') =>
    tx.query(
      `UPDATE ${schema}.orders SET payment_status = $2, ${extra}
         payment_attempts = (SELECT count(*) FROM ${schema}.payments WHERE order_id = $1)
       WHERE order_id = $1`,
      [event.data.orderId, status],
    );
  switch (event.type) {
    case 'PaymentRequested': {
      const p = event.data;
      // A retried attempt (one that failed before charging) is requested again under its id.
      await tx.query(
        `INSERT INTO ${schema}.payments (attempt_id, order_id, status, amount_cents, currency, requested_at)
         VALUES ($1, $2, 'pending', $3, $4, $5)
         ON CONFLICT (attempt_id) DO UPDATE SET status = 'pending', reason = NULL, retryable = NULL,
           settled_at = NULL, requested_at = excluded.requested_at`,
        [p.attemptId, p.orderId, p.amountCents, p.currency, p.requestedAt],
      );
      await summarize('pending');
      return;
    }
    case 'PaymentSucceeded':
      await tx.query(
        `UPDATE ${schema}.payments SET status = 'succeeded', charge_id = $2, settled_at = $3 WHERE attempt_id = $1`,
        [event.data.attemptId, event.data.chargeId, event.data.succeededAt],
      );
      await summarize('succeeded');
      return;
    case 'PaymentFailed':
      await tx.query(
        `UPDATE ${schema}.payments SET status = 'failed', reason = $2, retryable = $3, settled_at = $4
         WHERE attempt_id = $1`,
        [event.data.attemptId, event.data.reason, event.data.retryable, event.data.failedAt],
      );
      await summarize('failed');
      return;
    case 'PaymentRefunded':
      await tx.query(`UPDATE ${schema}.payments SET refunded_at = $2 WHERE attempt_id = $1`, [
        event.data.attemptId,
        event.data.refundedAt,
      ]);
      await summarize('refunded', 'refunded = true,');
      return;
  }
};
