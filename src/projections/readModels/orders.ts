import type { OrderEvent } from '../../domain/order/events.js';
import type { Transaction } from '../projection.js';

export type OrderChange = { event: OrderEvent; at: Date };

type OrderRow = {
  order_id: string;
  status?: string;
  expires_at?: string;
  reject_reason?: string;
  cancel_reason?: string;
  refunded?: boolean;
  updated_at: string;
};

type PlacedRow = OrderRow & {
  customer_id: string;
  show_id: string;
  lines: unknown;
  total_cents: number;
  currency: string;
  created_at: string;
};

/**
 * Orders per customer, for a whole batch: new orders in one insert, as they stand at the end of
 * the batch (placed and reserved together is one write, not two), then the latest state of each
 * older order in one update. An order only moves forward (placed → reserved or rejected →
 * confirmed or cancelled), so folding a batch's events per order gives what applying them one by
 * one would.
 */
export const applyOrderChanges = async (tx: Transaction, schema: string, changes: readonly OrderChange[]) => {
  const placed = new Map<string, PlacedRow>();
  const updates = new Map<string, OrderRow>();
  for (const { event, at } of changes) {
    if (event.type === 'OrderPlaced') {
      const o = event.data;
      placed.set(o.orderId, {
        order_id: o.orderId,
        customer_id: o.customerId,
        show_id: o.showId,
        status: 'placed',
        lines: o.lines,
        total_cents: o.totalCents,
        currency: o.currency,
        created_at: o.placedAt,
        updated_at: at.toISOString(),
      });
      continue;
    }
    const { orderId } = event.data;
    const row = placed.get(orderId) ?? updates.get(orderId) ?? { order_id: orderId, updated_at: '' };
    row.updated_at = at.toISOString();
    switch (event.type) {
      case 'OrderReserved':
        row.status = 'reserved';
        row.expires_at = event.data.expiresAt;
        break;
      case 'OrderRejected':
        row.status = 'rejected';
        row.reject_reason = event.data.reason;
        break;
      case 'OrderConfirmed':
        row.status = 'confirmed';
        break;
      case 'OrderCancelled':
        row.status = 'cancelled';
        row.cancel_reason = event.data.reason;
        row.refunded = event.data.refunded;
        break;
    }
    if (!placed.has(orderId)) updates.set(orderId, row);
  }
  if (placed.size > 0)
    await tx.query(
      `INSERT INTO ${schema}.orders (order_id, customer_id, show_id, status, lines, total_cents, currency,
         expires_at, reject_reason, cancel_reason, refunded, created_at, updated_at)
       SELECT order_id, customer_id, show_id, status, lines, total_cents, currency,
         expires_at, reject_reason, cancel_reason, coalesce(refunded, false), created_at, updated_at
       FROM jsonb_to_recordset($1::jsonb) AS o(order_id uuid, customer_id text, show_id uuid, status text,
         lines jsonb, total_cents bigint, currency text, expires_at timestamptz, reject_reason text,
         cancel_reason text, refunded boolean, created_at timestamptz, updated_at timestamptz)`,
      [JSON.stringify([...placed.values()])],
    );
  if (updates.size > 0)
    await tx.query(
      `UPDATE ${schema}.orders o
       SET status = coalesce(u.status, o.status),
           expires_at = coalesce(u.expires_at, o.expires_at),
           reject_reason = coalesce(u.reject_reason, o.reject_reason),
           cancel_reason = coalesce(u.cancel_reason, o.cancel_reason),
           -- A refund recorded on the payment before the cancellation already set refunded.
           refunded = o.refunded OR coalesce(u.refunded, false),
           updated_at = u.updated_at
       FROM jsonb_to_recordset($1::jsonb) AS u(order_id uuid, status text, expires_at timestamptz,
         reject_reason text, cancel_reason text, refunded boolean, updated_at timestamptz)
       WHERE o.order_id = u.order_id`,
      [JSON.stringify([...updates.values()])],
    );
};
