import type { PaymentEvent } from '../../domain/payment/events.js';
import type { Transaction } from '../projection.js';

type AttemptRow = {
  attempt_id: string;
  order_id: string;
  requested: boolean;
  status?: string;
  amount_cents?: number;
  currency?: string;
  requested_at?: string;
  charge_id?: string | null;
  reason?: string | null;
  retryable?: boolean | null;
  settled_at?: string | null;
  refunded_at?: string;
};

/**
 * Payment attempts and the payment summary each order shows, for a whole batch: each attempt's
 * events are folded in order (an attempt failed before charging may be requested again), then
 * written, then the summaries of the orders they touched are recomputed.
 */
export const applyPaymentEvents = async (
  tx: Transaction,
  schema: string,
  events: readonly PaymentEvent[],
) => {
  const attempts = new Map<string, AttemptRow>();
  for (const event of events) {
    const { attemptId, orderId } = event.data;
    const row = attempts.get(attemptId) ?? { attempt_id: attemptId, order_id: orderId, requested: false };
    switch (event.type) {
      case 'PaymentRequested':
        Object.assign(row, {
          requested: true,
          status: 'pending',
          amount_cents: event.data.amountCents,
          currency: event.data.currency,
          requested_at: event.data.requestedAt,
          reason: null,
          retryable: null,
          settled_at: null,
        });
        break;
      case 'PaymentSucceeded':
        Object.assign(row, {
          status: 'succeeded',
          charge_id: event.data.chargeId,
          settled_at: event.data.succeededAt,
        });
        break;
      case 'PaymentFailed':
        Object.assign(row, {
          status: 'failed',
          reason: event.data.reason,
          retryable: event.data.retryable,
          settled_at: event.data.failedAt,
        });
        break;
      case 'PaymentRefunded':
        row.refunded_at = event.data.refundedAt;
        break;
    }
    attempts.set(attemptId, row);
  }
  if (attempts.size === 0) return;
  const rows = [...attempts.values()];
  const recordset = `jsonb_to_recordset($1::jsonb) AS p(attempt_id text, order_id uuid, requested boolean, status text,
    amount_cents bigint, currency text, requested_at timestamptz, charge_id text, reason text, retryable boolean,
    settled_at timestamptz, refunded_at timestamptz)`;
  const requested = rows.filter((r) => r.requested);
  const later = rows.filter((r) => !r.requested);
  // Attempts requested in this batch are written as they stand at its end, in one write each;
  // one requested again after a retryable failure keeps its amount and earlier charge and refund.
  if (requested.length > 0)
    await tx.query(
      `INSERT INTO ${schema}.payments AS a (attempt_id, order_id, status, amount_cents, currency, requested_at,
         charge_id, reason, retryable, settled_at, refunded_at)
       SELECT attempt_id, order_id, status, amount_cents, currency, requested_at,
         charge_id, reason, retryable, settled_at, refunded_at
       FROM ${recordset}
       ON CONFLICT (attempt_id) DO UPDATE
       SET status = excluded.status, requested_at = excluded.requested_at,
           charge_id = coalesce(excluded.charge_id, a.charge_id), reason = excluded.reason,
           retryable = excluded.retryable, settled_at = excluded.settled_at,
           refunded_at = coalesce(excluded.refunded_at, a.refunded_at)`,
      [JSON.stringify(requested)],
    );
  if (later.length > 0)
    await tx.query(
      // For attempts requested earlier: a field the batch did not mention is kept.
      `UPDATE ${schema}.payments a
       SET status = coalesce(p.status, a.status),
           charge_id = coalesce(p.charge_id, a.charge_id),
           reason = coalesce(p.reason, a.reason),
           retryable = coalesce(p.retryable, a.retryable),
           settled_at = coalesce(p.settled_at, a.settled_at),
           refunded_at = coalesce(p.refunded_at, a.refunded_at)
       FROM ${recordset}
       WHERE a.attempt_id = p.attempt_id`,
      [JSON.stringify(later)],
    );
  await tx.query(
    `UPDATE ${schema}.orders o
     SET payment_status = s.status, payment_attempts = s.attempts, refunded = o.refunded OR s.refunded
     FROM (
       SELECT order_id, count(*)::integer AS attempts, bool_or(refunded_at IS NOT NULL) AS refunded,
         CASE WHEN bool_or(refunded_at IS NOT NULL) THEN 'refunded'
              WHEN bool_or(status = 'succeeded') THEN 'succeeded'
              ELSE (array_agg(status ORDER BY requested_at DESC))[1] END AS status
       FROM ${schema}.payments WHERE order_id = ANY($1::uuid[]) GROUP BY order_id
     ) s
     WHERE o.order_id = s.order_id`,
    [[...new Set(rows.map((r) => r.order_id))]],
  );
};
