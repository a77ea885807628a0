import type { OrderEvent } from '../../domain/order/events.js';
import type { Transaction } from '../projection.js';

/** Orders per customer, with their lines, totals and how they ended. */
export const applyOrderEvent = async (
  tx: Transaction,
  schema: string,
  event: OrderEvent,
  at: Date,
): Promise<void> => {
  const set = (assignments: string, values: unknown[]) =>
    tx.query(`UPDATE ${schema}.orders SET ${assignments}, updated_at = $2 WHERE order_id = $1`, [
      event.data.orderId,
      at,
      ...values,
    ]);
  switch (event.type) {
    case 'OrderPlaced': {
      const o = event.data;
      await tx.query(
        `INSERT INTO ${schema}.orders
           (order_id, customer_id, show_id, status, lines, total_cents, currency, created_at, updated_at)
         VALUES ($1, $2, $3, 'placed', $4, $5, $6, $7, $8)`,
        [
          o.orderId,
          o.customerId,
          o.showId,
          JSON.stringify(o.lines),
          o.totalCents,
          o.currency,
          o.placedAt,
          at,
        ],
      );
      return;
    }
    case 'OrderReserved':
      await set(`status = 'reserved', expires_at = $3`, [event.data.expiresAt]);
      return;
    case 'OrderRejected':
      await set(`status = 'rejected', reject_reason = $3`, [event.data.reason]);
      return;
    case 'OrderConfirmed':
      await set(`status = 'confirmed'`, []);
      return;
    case 'OrderCancelled':
      // A refund recorded on the payment before the cancellation already set refunded.
      await set(`status = 'cancelled', cancel_reason = $3, refunded = refunded OR $4`, [
        event.data.reason,
        event.data.refunded,
      ]);
      return;
  }
};
