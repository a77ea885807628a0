import type { Migration } from '../platform/migrations.js';

export const processMigrations: Migration[] = [
  {
    id: 'process_001_checkpoints_holds_gateway',
    sql: `
      -- Where each $all consumer of the process side has got to.
      CREATE TABLE process_checkpoints (
        name text PRIMARY KEY,
        position text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- Every hold the process manager has seen and not yet seen end: the expiry queue,
      -- orphans (holds whose order was never recorded) included.
      CREATE TABLE process_holds (
        ticket_type_id uuid NOT NULL,
        reservation_id text NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (ticket_type_id, reservation_id)
      );
      CREATE INDEX process_holds_expiry ON process_holds (expires_at);
      -- Payment attempts requested and not yet settled: one whose process stopped between the
      -- gateway and the log is settled from the gateway's books after a while.
      CREATE TABLE process_pending_payments (
        attempt_id text PRIMARY KEY,
        order_id uuid NOT NULL,
        requested_at timestamptz NOT NULL
      );
      CREATE INDEX process_pending_payments_age ON process_pending_payments (requested_at);
      -- The simulated payment gateway's own books: one outcome per charge key, one refund per refund key.
      CREATE TABLE gateway_charges (
        idempotency_key text PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('succeeded', 'declined')),
        charge_id text,
        reason text,
        amount_cents bigint NOT NULL,
        currency text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE gateway_refunds (
        idempotency_key text PRIMARY KEY,
        charge_id text NOT NULL,
        refund_id text NOT NULL,
        amount_cents bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
];
