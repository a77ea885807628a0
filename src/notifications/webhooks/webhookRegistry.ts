import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { inTransaction } from '../../platform/postgres.js';
import { decodeCursor, type Page, pageOf } from '../../projections/pageCursor.js';
import type { WebhookEventType } from '../notificationReactor.js';
import { newWebhookSecret } from './webhookSignature.js';

export type Webhook = { webhookId: string; url: string; events: WebhookEventType[]; createdAt: string };

type WebhookRow = { webhook_id: string; url: string; events: WebhookEventType[]; created_at: Date };

const webhookOf = (row: WebhookRow): Webhook => ({
  webhookId: row.webhook_id,
  url: row.url,
  events: row.events,
  createdAt: row.created_at.toISOString(),
});

/**
 * Registers an endpoint for the given event types. It gets the events that happen from now on
 * (the reactor compares each event's time with `created_at`, PostgreSQL's clock, as the event
 * store's is). The secret is returned here only.
 */
export const registerWebhook = async (
  db: pg.Pool,
  { url, events }: { url: string; events: WebhookEventType[] },
): Promise<Webhook & { secret: string }> => {
  const secret = newWebhookSecret();
  const { rows } = await db.query<WebhookRow>(
    `INSERT INTO webhooks (webhook_id, url, events, secret) VALUES ($1, $2, $3, $4)
     RETURNING webhook_id, url, events, created_at`,
    // As fetch will send it: percent-encoded, nothing but ASCII.
    [randomUUID(), new URL(url).href, events, secret],
  );
  return { ...webhookOf(rows[0]!), secret };
};

/** The registered webhooks, newest first, without their secrets. */
export const listWebhooks = async (
  db: pg.Pool,
  { limit, cursor }: { limit: number; cursor?: string },
): Promise<Page<Webhook>> => {
  const after = cursor ? decodeCursor(cursor) : undefined;
  const { rows } = await db.query<WebhookRow>(
    `SELECT webhook_id, url, events, created_at FROM webhooks
     WHERE deleted_at IS NULL
       AND ($1::timestamptz IS NULL OR (created_at, webhook_id) < ($1::timestamptz, $2::uuid))
     ORDER BY created_at DESC, webhook_id DESC LIMIT $3`,
    [after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  return pageOf(rows.map(webhookOf), limit, (w) => [w.createdAt, w.webhookId]);
};

/** Whether a webhook is registered (and not removed). */
export const webhookExists = async (db: pg.Pool, webhookId: string): Promise<boolean> =>
  (await db.query('SELECT 1 FROM webhooks WHERE webhook_id = $1 AND deleted_at IS NULL', [webhookId]))
    .rowCount === 1;

/**
 * Removes a webhook: nothing more is written or sent to it (a delivery already on the wire may
 * still arrive), and what it had pending is cancelled, so that no claim walks past it again. Its
 * delivery log is kept. False when there was no such webhook.
 */
export const removeWebhook = (db: pg.Pool, webhookId: string): Promise<boolean> =>
  inTransaction(db, async (tx) => {
    const removed = await tx.query(
      'UPDATE webhooks SET deleted_at = now() WHERE webhook_id = $1 AND deleted_at IS NULL',
      [webhookId],
    );
    // A reactor batch still being written may add a few more: the claims cancel those.
    await tx.query(
      `UPDATE webhook_deliveries SET status = 'cancelled', finished_at = now()
       WHERE webhook_id = $1 AND status = 'pending'`,
      [webhookId],
    );
    return removed.rowCount === 1;
  });
