import type { Migration } from '../../platform/migrations.js';

/** Adapters NOTIFY this channel after they append, so that other processes' subscriptions wake. */
export const NOTIFY_CHANNEL = 'es_appended';

/**
 * `transaction_id` orders `$all` together with `global_position`: readers only see rows of
 * transactions older than every transaction still running, so an append that took its
 * position early but commits late can never land behind a reader's checkpoint.
 */
export const eventStoreMigrations: Migration[] = [
  {
    id: 'eventstore_001_streams_and_events',
    sql: `
      CREATE TABLE es_streams (
        stream_id text PRIMARY KEY,
        revision bigint NOT NULL
      );
      CREATE TABLE es_events (
        global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        stream_id text NOT NULL,
        revision bigint NOT NULL,
        event_id uuid NOT NULL,
        type text NOT NULL,
        data jsonb NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (stream_id, revision)
      );
      CREATE INDEX es_events_all_order ON es_events (transaction_id, global_position);
    `,
  },
];
