import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WrongExpectedVersionError } from '../../src/eventstore/eventStore.js';
import { PostgresEventStore } from '../../src/eventstore/postgres/postgresEventStore.js';
import { eventStoreMigrations } from '../../src/eventstore/postgres/schema.js';
import { runMigrations } from '../../src/platform/migrations.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';

const event = (n: number) => ({ type: 'Counted', data: { n } });

describe('PostgreSQL group commit', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase({ poolSize: 10 });
    await runMigrations(database.pool, eventStoreMigrations);
    // One group at a time, so that appends made together are sure to share one.
    store = new PostgresEventStore({ pool: database.pool, groupCommit: { maxInFlight: 1 } });
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  const transactionsOf = async (streams: string[]) => {
    const { rows } = await database.pool.query<{ n: string }>(
      'SELECT count(DISTINCT transaction_id)::text AS n FROM es_events WHERE stream_id = ANY($1)',
      [streams],
    );
    return Number(rows[0]!.n);
  };

  it('appends made together share transactions, and each stream decides its own outcome', async () => {
    const existing = Array.from({ length: 20 }, (_, i) => `existing-${i}`);
    for (const stream of existing) await store.appendToStream(stream, [event(0), event(1)]);

    const fresh = Array.from({ length: 40 }, (_, i) => `fresh-${i}`);
    const outcomes = await Promise.allSettled([
      // Succeed: new streams, the right revision, any, stream_exists.
      ...fresh.map((s) =>
        store.appendToStream(s, [event(0), event(1), event(2)], { expectedRevision: 'no_stream' }),
      ),
      ...existing.slice(0, 5).map((s) => store.appendToStream(s, [event(2)], { expectedRevision: 1n })),
      ...existing
        .slice(5, 10)
        .map((s) => store.appendToStream(s, [event(2), event(3)], { expectedRevision: 'any' })),
      store.appendToStream('fresh-by-any', [event(0)], { expectedRevision: 'any' }),
      ...existing
        .slice(10, 15)
        .map((s) => store.appendToStream(s, [event(2)], { expectedRevision: 'stream_exists' })),
      // Conflict: an existing stream as new, a wrong revision, stream_exists on nothing.
      ...existing
        .slice(15, 18)
        .map((s) => store.appendToStream(s, [event(9)], { expectedRevision: 'no_stream' })),
      ...existing.slice(18, 20).map((s) => store.appendToStream(s, [event(9)], { expectedRevision: 7n })),
      store.appendToStream('missing', [event(9)], { expectedRevision: 'stream_exists' }),
    ]);

    const values = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : undefined));
    expect(values.slice(0, 40).map((v) => v?.nextExpectedRevision)).toEqual(fresh.map(() => 2n));
    expect(values.slice(40, 45).map((v) => v?.nextExpectedRevision)).toEqual([2n, 2n, 2n, 2n, 2n]);
    expect(values.slice(45, 50).map((v) => v?.nextExpectedRevision)).toEqual([3n, 3n, 3n, 3n, 3n]);
    expect(values[50]?.nextExpectedRevision).toBe(0n);
    expect(values.slice(51, 56).map((v) => v?.nextExpectedRevision)).toEqual([2n, 2n, 2n, 2n, 2n]);
    const conflicts = outcomes.slice(56).map((o) => (o.status === 'rejected' ? o.reason : o.value));
    expect(conflicts).toHaveLength(6);
    for (const conflict of conflicts) expect(conflict).toBeInstanceOf(WrongExpectedVersionError);
    expect(conflicts.map((c) => (c as WrongExpectedVersionError).actual)).toEqual([
      1n,
      1n,
      1n,
      1n,
      1n,
      'no_stream',
    ]);

    // Nothing of a refused append was written; the streams read back whole and in order.
    for (const stream of existing.slice(15))
      expect((await store.readStream(stream)).events.map((e) => e.data)).toEqual([{ n: 0 }, { n: 1 }]);
    expect((await store.readStream('missing')).revision).toBe('no_stream');
    for (const stream of fresh) {
      const { events } = await store.readStream(stream);
      expect(events.map((e) => [e.revision, e.data])).toEqual([
        [0n, { n: 0 }],
        [1n, { n: 1 }],
        [2n, { n: 2 }],
      ]);
      // Within a stream, $all positions follow revisions.
      expect([...events.map((e) => e.position)].sort()).toEqual(events.map((e) => e.position));
    }
    // Fifty-six appends made in one turn of the event loop took far fewer transactions.
    expect(await transactionsOf([...fresh, ...existing, 'fresh-by-any'])).toBeLessThan(5 + 20);
  });

  it('an append PostgreSQL refuses fails alone, and the rest of its group lands', async () => {
    const streams = Array.from({ length: 12 }, (_, i) => `mixed-${i}`);
    const outcomes = await Promise.allSettled(
      streams.map((stream, i) =>
        // jsonb cannot hold a NUL character: PostgreSQL refuses this one event.
        store.appendToStream(
          stream,
          [{ type: 'Named', data: { name: i === 5 ? 'a\u0000b' : `name ${i}` } }],
          {
            expectedRevision: 'no_stream',
          },
        ),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(
      streams.map((_, i) => (i === 5 ? 'rejected' : 'fulfilled')),
    );
    expect((await store.readStream('mixed-5')).revision).toBe('no_stream');
    for (const [i, stream] of streams.entries())
      if (i !== 5)
        expect((await store.readStream(stream)).events.map((e) => e.data)).toEqual([{ name: `name ${i}` }]);
  });

  it('appends to one stream made together land one after another, in the order they were made', async () => {
    // The default settings: several groups in flight at once, none with the same stream.
    const busy = new PostgresEventStore({ pool: database.pool });
    try {
      for (let round = 0; round < 5; round++) {
        const stream = `ordered-${round}`;
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            busy.appendToStream(stream, [event(i)], { expectedRevision: 'any' }),
          ),
        );
        expect(results.map((r) => r.nextExpectedRevision)).toEqual(
          Array.from({ length: 30 }, (_, i) => BigInt(i)),
        );
        const { events } = await busy.readStream(stream);
        expect(events.map((e) => e.data)).toEqual(Array.from({ length: 30 }, (_, i) => ({ n: i })));
      }
    } finally {
      await busy.close();
    }
  });

  it('an append whose data cannot become JSON fails alone', async () => {
    const streams = Array.from({ length: 6 }, (_, i) => `unjsonable-${i}`);
    const outcomes = await Promise.allSettled(
      streams.map((stream, i) =>
        store.appendToStream(stream, [{ type: 'Counted', data: i === 2 ? { n: 1n } : { n: i } }], {
          expectedRevision: 'no_stream',
        }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(
      streams.map((_, i) => (i === 2 ? 'rejected' : 'fulfilled')),
    );
    expect((await store.readStream('unjsonable-2')).revision).toBe('no_stream');
  });

  it('under many concurrent callers, every append lands once and $all holds each event once', async () => {
    const callers = 64;
    const perCaller = 50;
    await Promise.all(
      Array.from({ length: callers }, async (_, caller) => {
        for (let i = 0; i < perCaller; i++)
          await store.appendToStream(`load-${caller}-${i}`, [event(i)], { expectedRevision: 'no_stream' });
      }),
    );
    const { rows } = await database.pool.query<{ events: string; streams: string; transactions: string }>(
      `SELECT count(*)::text AS events, count(DISTINCT stream_id)::text AS streams,
              count(DISTINCT transaction_id)::text AS transactions
       FROM es_events WHERE stream_id LIKE 'load-%'`,
    );
    expect(rows[0]).toMatchObject({
      events: String(callers * perCaller),
      streams: String(callers * perCaller),
    });
    expect(Number(rows[0]!.transactions)).toBeLessThan(callers * perCaller);
  });
});
