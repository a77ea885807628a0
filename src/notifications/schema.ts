import type { Migration } from '../platform/migrations.js';

export const notificationMigrations: Migration[] = [
  {
    id: 'notifications_001_outbox',
    sql: `
      -- Whose each order is: the reactor learns it from OrderPlaced, before any outcome.
      CREATE TABLE notification_orders (
        order_id uuid PRIMARY KEY,
        customer_id text NOT NULL,
        show_id uuid NOT NULL
      );
      -- The outbox: one notification per order outcome, keyed by the event it comes from, so a
      -- replayed event can never make a second one. Written with the reactor's checkpoint.
      CREATE TABLE notifications (
        notification_id uuid PRIMARY KEY,
        customer_id text NOT NULL,
        order_id uuid NOT NULL,
        kind text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX notifications_by_customer ON notifications (customer_id, created_at DESC, notification_id DESC);
    `,
  },
  {
    id: 'notifications_002_customer_delivery',
    sql: `
      -- Delivery to the customer channel: at least once, retried with backoff until it goes.
      ALTER TABLE notifications
        ADD COLUMN delivered_at timestamptz,
        ADD COLUMN delivery_attempts integer NOT NULL DEFAULT 0,
        ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN last_error text;
      CREATE INDEX notifications_undelivered ON notifications (next_attempt_at) WHERE delivered_at IS NULL;
    `,
  },
];
