import type { Migration } from '../platform/migrations.js';

export const accountMigrations: Migration[] = [
  {
    id: 'accounts_001_customers',
    sql: `
      -- Sign-in accounts. Not event-sourced: they hold no sales facts, only who may act.
      CREATE TABLE customers (
        customer_id uuid PRIMARY KEY,
        email text NOT NULL UNIQUE,
        name text NOT NULL,
        password_hash text NOT NULL,
        role text NOT NULL CHECK (role IN ('customer', 'admin')),
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
];
