import type pg from 'pg';
import { decodeCursor, type Page, pageOf } from '../../projections/pageCursor.js';
import type { WebhookEventType } from '../notificationReactor.js';

/** `cancelled`: its webhook was removed before it went. */
export const deliveryStatuses = ['pending', 'delivered', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

export type DeliveryAttempt = {
  attempt: number;
  startedAt: string;
  /** Null while the attempt is on the wire, or when its dispatcher stopped before an answer. */
  finishedAt: string | null;
  statusCode: number | null;
  error: string | null;
};

export type WebhookDelivery = {
  eventId: string;
  eventType: WebhookEventType;
  orderId: string;
  status: DeliveryStatus;
  /** What was sent, byte for byte the same on every attempt. */
  event: Record<string, unknown>;
  createdAt: string;
  /** When the next attempt is due; null once delivered, failed or cancelled. */
  nextAttemptAt: string | null;
  finishedAt: string | null;
  attempts: DeliveryAttempt[];
};

type DeliveryRow = {
  event_id: string;
  event_type: WebhookEventType;
  order_id: string;
  status: DeliveryStatus;
  body: Record<string, unknown>;
  created_at: Date;
  next_attempt_at: Date;
  finished_at: Date | null;
  attempts: {
    attempt: number;
    started_at: string;
    finished_at: string | null;
    status_code: number | null;
    error: string | null;
  }[];
};

const iso = (time: string | Date) => new Date(time).toISOString();

/** A webhook's deliveries, newest first, each with its attempts. */
export const listWebhookDeliveries = async (
  db: pg.Pool,
  webhookId: string,
  { limit, cursor }: { limit: number; cursor?: string },
): Promise<Page<WebhookDelivery>> => {
  const before = cursor ? decodeCursor(cursor) : undefined;
  const { rows } = await db.query<DeliveryRow>(
    `SELECT d.event_id, d.event_type, d.order_id, d.status, d.body, d.created_at, d.next_attempt_at,
            d.finished_at,
            (SELECT coalesce(jsonb_agg(to_jsonb(a) - 'delivery_id' ORDER BY a.attempt), '[]')
             FROM webhook_delivery_attempts a WHERE a.delivery_id = d.delivery_id) AS attempts
     FROM webhook_deliveries d
     WHERE d.webhook_id = $1
       AND ($2::timestamptz IS NULL OR (d.created_at, d.event_id) < ($2::timestamptz, $3::uuid))
     ORDER BY d.created_at DESC, d.event_id DESC LIMIT $4`,
    [webhookId, before?.[0] ?? null, before?.[1] ?? null, limit + 1],
  );
  return pageOf(
    rows.map((r) => ({
      eventId: r.event_id,
      eventType: r.event_type,
      orderId: r.order_id,
      status: r.status,
      event: r.body,
      createdAt: iso(r.created_at),
      nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
      finishedAt: r.finished_at && iso(r.finished_at),
      attempts: r.attempts.map((a) => ({
        attempt: a.attempt,
        startedAt: iso(a.started_at),
        finishedAt: a.finished_at && iso(a.finished_at),
        statusCode: a.status_code,
        error: a.error,
      })),
    })),
    limit,
    (d) => [d.createdAt, d.eventId],
  );
};
