import { type OrderEvent, orderEventSchema } from '../domain/order/events.js';
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

/** What a webhook can subscribe to: every outcome, and an order that now holds its seats. */
export const webhookEventTypes = ['order.placed', ...notificationKinds] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

type Outcome<Kind extends WebhookEventType = NotificationKind> = {
  notification_id: string;
  order_id: string;
  kind: Kind;
  details: Record<string, unknown>;
  created_at: string;
};

/** What an order event tells, if anything: each outcome makes exactly one notification. */
const outcomeOf = (event: RecordedEvent, e: OrderEvent): Outcome<WebhookEventType> | undefined => {
  const base = {
    notification_id: event.id,
    order_id: e.data.orderId,
    created_at: event.createdAt.toISOString(),
  };
  switch (e.type) {
    // Webhooks only: the customer has the order in the answer to their request.
    case 'OrderReserved':
      return { ...base, kind: 'order.placed', details: { status: 'reserved', expiresAt: e.data.expiresAt } };
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
 * becomes one notification, keyed by its event's id. Every webhook subscribed to an event's type
 * gets a delivery of it in the same transaction, if the event came after the webhook was
 * registered (so reading the log again never sends old news to a new endpoint).
 */
export const notificationReactor = (): Projection => ({
  name: NOTIFICATIONS,
  apply: async (tx: Transaction, events: readonly RecordedEvent[]) => {
    const placed: { order_id: string; customer_id: string; show_id: string; summary: object }[] = [];
    const outcomes: Outcome[] = [];
    const webhookEvents: (Outcome<WebhookEventType> & { seq: number })[] = [];
    for (const event of events) {
      if (streamCategory(event.streamName) !== 'order') continue;
      const parsed = orderEventSchema.safeParse(event);
      if (!parsed.success) continue;
      const e = parsed.data;
      if (e.type === 'OrderPlaced') {
        const { orderId, customerId, showId, lines, totalCents, currency } = e.data;
        placed.push({
          order_id: orderId,
          customer_id: customerId,
          show_id: showId,
          summary: { lines, totalCents, currency },
        });
        continue;
      }
      const outcome = outcomeOf(event, e);
      if (!outcome) continue;
      webhookEvents.push({ ...outcome, seq: webhookEvents.length });
      if (outcome.kind !== 'order.placed') outcomes.push({ ...outcome, kind: outcome.kind });
    }
    // Orders first: a batch may hold an order and its outcome (a refusal comes with its order).
    if (placed.length > 0)
      await tx.query(
        `INSERT INTO notification_orders (order_id, customer_id, show_id, summary)
         SELECT * FROM jsonb_to_recordset($1::jsonb)
           AS o(order_id uuid, customer_id text, show_id uuid, summary jsonb)
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
    if (webhookEvents.length === 0) return;
    // Most batches of a sale are holds and refusals that no webhook may want: those are not sent.
    const { rows } = await tx.query<{ type: WebhookEventType }>(
      'SELECT DISTINCT unnest(events) AS type FROM webhooks WHERE deleted_at IS NULL',
    );
    const subscribed = new Set(rows.map((r) => r.type));
    const wanted = webhookEvents.filter((e) => subscribed.has(e.kind));
    // In log order, so that the deliveries' serial keeps each order's events in order.
    if (wanted.length > 0)
      await tx.query(
        `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, order_id, body, created_at,
                                         next_attempt_at)
         SELECT w.webhook_id, e.notification_id, e.kind, e.order_id,
                jsonb_build_object(
                  'id', e.notification_id, 'type', e.kind, 'createdAt', e.created_at,
                  'data', jsonb_build_object('orderId', e.order_id, 'customerId', o.customer_id,
                                             'showId', o.show_id) || o.summary || e.details),
                e.created_at::timestamptz,
                -- Behind an earlier event of the order still on its way: due when that one is next
                -- (a due time, never a lease: one on the wire holds nothing back once it lands).
                greatest(now(), (SELECT max(p.next_attempt_at) FROM webhook_deliveries p
                                 WHERE p.webhook_id = w.webhook_id AND p.order_id = e.order_id
                                   AND p.status = 'pending'))
         FROM jsonb_to_recordset($1::jsonb)
           AS e(seq int, notification_id uuid, order_id uuid, kind text, details jsonb, created_at text)
         JOIN notification_orders o USING (order_id)
         JOIN webhooks w ON w.deleted_at IS NULL AND e.kind = ANY (w.events)
                        AND e.created_at::timestamptz >= w.created_at
         ORDER BY e.seq, w.webhook_id
         ON CONFLICT (webhook_id, event_id) DO NOTHING`,
        [JSON.stringify(wanted)],
      );
  },
});
