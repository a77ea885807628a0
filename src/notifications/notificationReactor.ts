import { orderEventSchema } from '../domain/order/events.js';
import type { RecordedEvent } from '../eventstore/eventStore.js';
import { streamCategory } from '../eventstore/streamName.js';
import type { Projection, Transaction } from '../projections/projection.js';

export const NOTIFICATIONS = 'notifications';

/** What a customer (and, later, a webhook) hears about an order. */
export const notificationKinds = [
  'order.confirmed',
  'order.cancelled',
  'order.expired',
  'order.rejected',
] as const;
export type NotificationKind = (typeof notificationKinds)[number];

type Outcome = {
  notification_id: string;
  order_id: string;
  kind: NotificationKind;
  details: Record<string, unknown>;
  created_at: string;
};

/** The notification an order event makes, if any: each outcome makes exactly one. */
const outcomeOf = (event: RecordedEvent): Outcome | undefined => {
  const parsed = orderEventSchema.safeParse(event);
  if (!parsed.success) return undefined;
  const e = parsed.data;
  const base = {
    notification_id: event.id,
    order_id: e.data.orderId,
    created_at: event.createdAt.toISOString(),
  };
  switch (e.type) {
    case 'OrderConfirmed':
      return { ...base, kind: 'order.confirmed', details: { status: 'confirmed' } };
    case 'OrderRejected':
      return { ...base, kind: 'order.rejected', details: { status: 'rejected', reason: e.data.reason } };
    case 'OrderCancelled':
      return {
        ...base,
        // A hold that ran out is its own outcome for a customer, whether or not money came back.
        kind: e.data.reason === 'expired' ? 'order.expired' : 'order.cancelled',
        details: { status: 'cancelled', reason: e.data.reason, refunded: e.data.refunded },
      };
    default:
      return undefined;
  }
};

/**
 * The notification reactor: follows `$all` like a projection, so each batch's notifications are
 * written to the outbox in the same transaction as its checkpoint, exactly once whatever crashes.
 * OrderPlaced tells it whose order it is; each outcome (confirmed, cancelled, expired, rejected)
 * becomes one notification, keyed by its event's id.
 */
export const notificationReactor = (): Projection => ({
  name: NOTIFICATIONS,
  apply: async (tx: Transaction, events: readonly RecordedEvent[]) => {
    const placed: { order_id: string; customer_id: string; show_id: string }[] = [];
    const outcomes: Outcome[] = [];
    for (const event of events) {
      if (streamCategory(event.streamName) !== 'order') continue;
      if (event.type === 'OrderPlaced') {
        const parsed = orderEventSchema.safeParse(event);
        if (parsed.success && parsed.data.type === 'OrderPlaced') {
          const { orderId, customerId, showId } = parsed.data.data;
          placed.push({ order_id: orderId, customer_id: customerId, show_id: showId });
        }
        continue;
      }
      const outcome = outcomeOf(event);
      if (outcome) outcomes.push(outcome);
    }
    // Orders first: a batch may hold an order and its outcome (a refusal comes with its order).
    if (placed.length > 0)
      await tx.query(
        `INSERT INTO notification_orders (order_id, customer_id, show_id)
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS o(order_id uuid, customer_id text, show_id uuid)
         ON CONFLICT (order_id) DO NOTHING`,
        [JSON.stringify(placed)],
      );
    if (outcomes.length > 0)
      await tx.query(
        `INSERT INTO notifications (notification_id, customer_id, order_id, kind, payload, created_at)
         SELECT n.notification_id, o.customer_id, n.order_id, n.kind,
                jsonb_build_object('orderId', n.order_id, 'showId', o.show_id) || n.details, n.created_at
         FROM jsonb_to_recordset($1::jsonb)
           AS n(notification_id uuid, order_id uuid, kind text, details jsonb, created_at timestamptz)
         JOIN notification_orders o USING (order_id)
         ON CONFLICT (notification_id) DO NOTHING`,
        [JSON.stringify(outcomes)],
      );
  },
});
