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

/**
 * One statement (so one implicit transaction and one round trip) that checks the stream's
 * revision and inserts the events. It returns one row; a null revision means a conflict.
 */
export const appendStatement = (
  streamName: string,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
): { text: string; values: unknown[] } => {
  const rows = events.map((e) => ({
    event_id: e.id ?? randomUUID(),
    type: e.type,
    data: e.data,
    metadata: e.metadata ?? {},
  }));
  const values: unknown[] = [streamName, JSON.stringify(rows), events.length];
  if (typeof expected === 'bigint') values.push(expected.toString());
  return {
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
