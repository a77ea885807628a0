import type pg from 'pg';
import { decodeCursor, type Page, pageOf } from '../projections/pageCursor.js';
import type { NotificationKind } from './notificationReactor.js';

export type CustomerNotification = {
  notificationId: string;
  kind: NotificationKind;
  orderId: string;
  payload: Record<string, unknown>;
  createdAt: string;
};

type NotificationRow = {
  notification_id: string;
  kind: NotificationKind;
  order_id: string;
  payload: Record<string, unknown>;
  created_at: Date;
};

/** A customer's notifications, newest first. */
export const listCustomerNotifications = async (
  db: pg.Pool,
  customerId: string,
  { limit, cursor }: { limit: number; cursor?: string },
): Promise<Page<CustomerNotification>> => {
  const before = cursor ? decodeCursor(cursor) : undefined;
  const { rows } = await db.query<NotificationRow>(
    `SELECT notification_id, kind, order_id, payload, created_at FROM notifications
     WHERE customer_id = $1
       AND ($2::timestamptz IS NULL OR (created_at, notification_id) < ($2::timestamptz, $3::uuid))
     ORDER BY created_at DESC, notification_id DESC LIMIT $4`,
    [customerId, before?.[0] ?? null, before?.[1] ?? null, limit + 1],
  );
  return pageOf(
    rows.map((r) => ({
      notificationId: r.notification_id,
      kind: r.kind,
      orderId: r.order_id,
      payload: r.payload,
      createdAt: r.created_at.toISOString(),
    })),
    limit,
    (n) => [n.createdAt, n.notificationId],
  );
};
