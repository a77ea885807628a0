import { randomUUID } from 'node:crypto';
import type { ExpectedRevision, NewEvent } from '../eventStore.js';

/**
 * How each expected revision claims the stream row. Each returns `prev`, the revision before
 * the append, or no row when the stream is not as expected. The row lock taken here is what
 * serialises concurrent appends to one stream; under READ COMMITTED a waiting UPDATE re-checks
 * its WHERE against the committed row, so of many appenders with one expected revision exactly one wins.
 */
const claimStream = (expected: ExpectedRevision): string => {
  if (expected === 'no_stream')
    return `INSERT INTO es_streams (stream_id, revision) VALUES ($1, $3::bigint - 1)
            ON CONFLICT (stream_id) DO NOTHING RETURNING -1::bigint AS prev`;
  if (expected === 'any')
    return `INSERT INTO es_streams (stream_id, revision) VALUES ($1, $3::bigint - 1)
            ON CONFLICT (stream_id) DO UPDATE SET revision = es_streams.revision + $3::bigint
            RETURNING revision - $3::bigint AS prev`;
  if (expected === 'stream_exists')
    return `UPDATE es_streams SET revision = revision + $3::bigint WHERE stream_id = $1 RETURNING revision - $3::bigint AS prev`;
  // A row locked by another append means that append expected this same revision and will
  // most likely move it: fail at once (SKIP LOCKED finds no row) instead of waiting. A waiter
  // holds a transaction id, and every open transaction id holds back what `$all` readers see.
  return `UPDATE es_streams s SET revision = s.revision + $3::bigint
          FROM (SELECT stream_id FROM es_streams WHERE stream_id = $1 AND revision = $4::bigint
                FOR UPDATE SKIP LOCKED) claimed
          WHERE s.stream_id = claimed.stream_id
          RETURNING s.revision - $3::bigint AS prev`;
};

const kindOf = (expected: ExpectedRevision) => (typeof expected === 'bigint' ? 'revision' : expected);

/** The events as the statements read them from JSON, each with its id. */
const eventRows = (events: readonly NewEvent[]) =>
  events.map((e) => ({
    event_id: e.id ?? randomUUID(),
    type: e.type,
    data: e.data,
    metadata: e.metadata ?? {},
  }));

/**
 * One statement (so one implicit transaction and one round trip) that checks the stream's
 * revision and inserts the events. It returns one row; a null revision means a conflict.
 */
export const appendStatement = (
  streamName: string,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
): { name: string; text: string; values: unknown[] } => {
  const values: unknown[] = [streamName, JSON.stringify(eventRows(events)), events.length];
  if (typeof expected === 'bigint') values.push(expected.toString());
  return {
    // Named, so each connection parses and plans it once per expected-revision form.
    name: `flashtix-append-${kindOf(expected)}`,
    text: `
      WITH stream AS (${claimStream(expected)}),
      appended AS (
        INSERT INTO es_events (stream_id, revision, event_id, type, data, metadata)
        SELECT $1, stream.prev + e.ord, e.event_id, e.type, COALESCE(e.data, 'null'), COALESCE(e.metadata, '{}')
        FROM stream,
          ROWS FROM (jsonb_to_recordset($2::jsonb) AS (event_id uuid, type text, data jsonb, metadata jsonb))
          WITH ORDINALITY AS e(event_id, type, data, metadata, ord)
        RETURNING revision, global_position, transaction_id
      )
      SELECT max(revision)::text AS revision, max(global_position)::text AS global_position,
             min(transaction_id::text) AS transaction_id
      FROM appended`,
    values,
  };
};

/**
 * One statement that appends to several distinct streams, each with its own expected revision:
 * the claims of `claimStream`, set-based. A stream whose claim finds no row is left out of the
 * result (a conflict for that stream alone); the others land together in one transaction.
 * Returns a row per stream that was appended to.
 */
export const groupAppendStatement = (
  appends: readonly { streamName: string; events: readonly NewEvent[]; expected: ExpectedRevision }[],
): { name: string; text: string; values: unknown[] } => {
  // Streams in one order in every group, so that groups locking rows of the same streams take
  // them in the same order (fewer deadlocks between groups; a deadlocked group is retried alone).
  const sorted = [...appends].sort((a, b) =>
    a.streamName < b.streamName ? -1 : a.streamName > b.streamName ? 1 : 0,
  );
  const input = sorted.map((a, n) => ({
    n,
    stream_id: a.streamName,
    kind: kindOf(a.expected),
    expected: typeof a.expected === 'bigint' ? a.expected.toString() : null,
    count: a.events.length,
    events: eventRows(a.events),
  }));
  return {
    name: 'flashtix-group-append',
    text: `
      WITH input AS (
        SELECT * FROM jsonb_to_recordset($1::jsonb)
          AS i(n int, stream_id text, kind text, expected bigint, count bigint, events jsonb)
      ),
      created AS (
        INSERT INTO es_streams (stream_id, revision)
        SELECT stream_id, count - 1 FROM input WHERE kind = 'no_stream'
        ON CONFLICT (stream_id) DO NOTHING
        RETURNING stream_id, -1::bigint AS prev
      ),
      upserted AS (
        INSERT INTO es_streams AS s (stream_id, revision)
        SELECT stream_id, count - 1 FROM input WHERE kind = 'any'
        ON CONFLICT (stream_id) DO UPDATE SET revision = s.revision + excluded.revision + 1
        RETURNING s.stream_id, s.revision
      ),
      moved AS (
        UPDATE es_streams s SET revision = s.revision + i.count
        FROM input i WHERE i.kind = 'stream_exists' AND s.stream_id = i.stream_id
        RETURNING s.stream_id, s.revision - i.count AS prev
      ),
      matched AS (
        UPDATE es_streams s SET revision = s.revision + i.count
        FROM input i,
          (SELECT st.stream_id FROM es_streams st JOIN input j ON j.stream_id = st.stream_id
           WHERE j.kind = 'revision' AND st.revision = j.expected
           FOR UPDATE OF st SKIP LOCKED) claimed
        WHERE i.stream_id = claimed.stream_id AND s.stream_id = claimed.stream_id
        RETURNING s.stream_id, s.revision - i.count AS prev
      ),
      claimed AS (
        SELECT stream_id, prev FROM created
        UNION ALL SELECT u.stream_id, u.revision - i.count FROM upserted u JOIN input i USING (stream_id)
        UNION ALL SELECT stream_id, prev FROM moved
        UNION ALL SELECT stream_id, prev FROM matched
      ),
      appended AS (
        INSERT INTO es_events (stream_id, revision, event_id, type, data, metadata)
        SELECT c.stream_id, c.prev + e.ord, e.event_id, e.type, COALESCE(e.data, 'null'), COALESCE(e.metadata, '{}')
        FROM claimed c JOIN input i USING (stream_id),
          ROWS FROM (jsonb_to_recordset(i.events) AS (event_id uuid, type text, data jsonb, metadata jsonb))
          WITH ORDINALITY AS e(event_id, type, data, metadata, ord)
        ORDER BY i.n, e.ord
        RETURNING stream_id, revision, global_position, transaction_id
      )
      SELECT stream_id, max(revision)::text AS revision, max(global_position)::text AS global_position,
             min(transaction_id::text) AS transaction_id
      FROM appended GROUP BY stream_id`,
    values: [JSON.stringify(input)],
  };
};
