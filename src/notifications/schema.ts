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
  {
    id: 'notifications_003_webhooks',
    sql: `
      -- The summary of each order that webhook receivers get with every event of it.
      ALTER TABLE notification_orders ADD COLUMN summary jsonb NOT NULL DEFAULT '{}';
      -- Endpoints an admin registered. Kept after removal (deleted_at) so that their delivery
      -- log stays whole; a removed one gets nothing further.
      CREATE TABLE webhooks (
        webhook_id uuid PRIMARY KEY,
        url text NOT NULL,
        events text[] NOT NULL,
        secret text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      );
      CREATE INDEX webhooks_listed ON webhooks (created_at DESC, webhook_id DESC) WHERE deleted_at IS NULL;
      -- One delivery per (webhook, event), written by the reactor with its checkpoint. The
      -- serial follows the log, which keeps each order's deliveries to an endpoint in order.
      CREATE TABLE webhook_deliveries (
        delivery_id bigserial PRIMARY KEY,
        webhook_id uuid NOT NULL REFERENCES webhooks,
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        order_id uuid NOT NULL,
        body jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        status text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        -- While an attempt is on the wire: no other dispatcher takes it before then.
        leased_until timestamptz,
        finished_at timestamptz,
        UNIQUE (webhook_id, event_id)
      );
      -- Statistics on the bodies would cost most of each ANALYZE and tell the planner nothing.
      ALTER TABLE webhook_deliveries ALTER COLUMN body SET STATISTICS 0;
      -- What is due, in the order it became due: a claim reads only these, not the delivered past.
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, delivery_id)
        WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_pending_by_order ON webhook_deliveries (order_id, webhook_id, delivery_id)
        WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_listed ON webhook_deliveries (webhook_id, created_at DESC, event_id DESC);
      -- Each attempt, from the moment it is claimed: one with no finish was cut short (its
      -- dispatcher stopped) and is tried again once its lease runs out.
      CREATE TABLE webhook_delivery_attempts (
        delivery_id bigint NOT NULL REFERENCES webhook_deliveries,
        attempt integer NOT NULL,
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        status_code integer,
        error text,
        PRIMARY KEY (delivery_id, attempt)
      );
    `,
  },
];
