import type { Migration } from '../platform/migrations.js';

/** The schema the API reads from; a rebuild fills a fresh one and renames it into place. */
export const READ_MODEL_SCHEMA = 'read_models';

/**
 * The read model tables in one schema. The same DDL creates the live schema (migration) and the
 * fresh one a rebuild fills, so the two can never differ.
 */
export const readModelTablesSql = (schema: string): string => `
  CREATE SCHEMA ${schema};
  CREATE TABLE ${schema}.shows (
    show_id uuid PRIMARY KEY,
    name text NOT NULL,
    venue text NOT NULL,
    starts_at timestamptz NOT NULL,
    sales_open_at timestamptz NOT NULL,
    sales_closed boolean NOT NULL DEFAULT false,
    currency text NOT NULL,
    hold_seconds integer NOT NULL,
    scheduled_at timestamptz NOT NULL
  );
  CREATE INDEX shows_by_start ON ${schema}.shows (starts_at, show_id);
  CREATE TABLE ${schema}.ticket_types (
    ticket_type_id uuid PRIMARY KEY,
    show_id uuid NOT NULL,
    ordinal integer NOT NULL,
    name text NOT NULL,
    price_cents bigint NOT NULL,
    capacity integer NOT NULL,
    max_per_customer integer NOT NULL
  );
  CREATE INDEX ticket_types_by_show ON ${schema}.ticket_types (show_id, ordinal);
  CREATE TABLE ${schema}.availability (
    ticket_type_id uuid PRIMARY KEY,
    show_id uuid NOT NULL,
    capacity integer NOT NULL,
    available integer NOT NULL,
    reserved integer NOT NULL,
    sold integer NOT NULL,
    position text NOT NULL
  );
  CREATE INDEX availability_by_show ON ${schema}.availability (show_id);
  CREATE TABLE ${schema}.orders (
    order_id uuid PRIMARY KEY,
    customer_id text NOT NULL,
    show_id uuid NOT NULL,
    status text NOT NULL,
    lines jsonb NOT NULL,
    total_cents bigint NOT NULL,
    currency text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    reject_reason text,
    cancel_reason text,
    refunded boolean NOT NULL DEFAULT false,
    payment_status text,
    payment_attempts integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL
  );
  CREATE INDEX orders_by_customer ON ${schema}.orders (customer_id, created_at DESC, order_id DESC);
  CREATE TABLE ${schema}.payments (
    attempt_id text PRIMARY KEY,
    order_id uuid NOT NULL,
    status text NOT NULL,
    amount_cents bigint NOT NULL,
    currency text NOT NULL,
    charge_id text,
    reason text,
    retryable boolean,
    requested_at timestamptz NOT NULL,
    settled_at timestamptz,
    refunded_at timestamptz
  );
  CREATE INDEX payments_by_order ON ${schema}.payments (order_id);
  CREATE TABLE ${schema}.reservations (
    ticket_type_id uuid NOT NULL,
    reservation_id text NOT NULL,
    customer_id text NOT NULL,
    quantity integer NOT NULL,
    status text NOT NULL,
    release_reason text,
    reserved_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ended_at timestamptz,
    PRIMARY KEY (ticket_type_id, reservation_id)
  );
  CREATE INDEX reservations_open ON ${schema}.reservations (expires_at) WHERE status = 'reserved';
`;

export const projectionMigrations: Migration[] = [
  {
    id: 'projections_001_read_models',
    sql: `
      ${readModelTablesSql(READ_MODEL_SCHEMA)}
      -- Where each projection group has got to in $all; written in the same transaction as its rows.
      CREATE TABLE projection_checkpoints (
        name text PRIMARY KEY,
        position text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
];
