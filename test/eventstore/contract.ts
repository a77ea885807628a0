import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EventStore,
  type NewEvent,
  type RecordedEvent,
  type Subscription,
  WrongExpectedVersionError,
} from '../../src/eventstore/eventStore.js';

/** An append left open in its own transaction, for stores where a commit can come late. */
export type OpenAppend = { commit(): Promise<void> };

export type ContractSubject = {
  store: EventStore;
  /** Starts an append that has taken its position but not committed; absent where appends cannot overlap. */
  beginAppend?: (streamName: string, events: NewEvent[]) => Promise<OpenAppend>;
  teardown(): Promise<void>;
};

const event = (type: string, data: Record<string, unknown> = {}): NewEvent => ({ type, data });
const stream = (category = 'test') => `${category}-${randomUUID()}`;

const settle = async <T>(promises: Promise<T>[]) => {
  const results = await Promise.allSettled(promises);
  return {
    won: results.filter((r) => r.status === 'fulfilled').length,
    errors: results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])),
  };
};

/** Takes events from a subscription in the background until it is closed. */
const collect = (subscription: Subscription) => {
  const received: RecordedEvent[] = [];
  const done = (async () => {
    for await (const e of subscription) received.push(e);
  })();
  const waitFor = async (predicate: () => boolean, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out; received ${received.length} events`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { received, done, waitFor };
};

const expectConflict = async (promise: Promise<unknown>, actual: bigint | 'no_stream') => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WrongExpectedVersionError);
  expect((error as WrongExpectedVersionError).actual).toBe(actual);
  return error as WrongExpectedVersionError;
};

/** The one contract every event store adapter passes. */
export const eventStoreContract = (adapter: string, create: () => Promise<ContractSubject>): void => {
  describe(`event store contract: ${adapter}`, () => {
    let subject: ContractSubject;
    let store: EventStore;
    beforeAll(async () => {
      subject = await create();
      store = subject.store;
    });
    afterAll(async () => {
      await subject?.teardown();
    });

    describe('appending and reading a stream', () => {
      it('numbers revisions from 0 and reads events back in order with their data, metadata and ids', async () => {
        const name = stream();
        const id = randomUUID();
        const result = await store.appendToStream(
          name,
          [
            { id, type: 'A', data: { n: 1, nested: { s: 'é✓' } }, metadata: { causation: 'x' } },
            event('B', { n: 2 }),
          ],
          { expectedRevision: 'no_stream' },
        );
        expect(result.nextExpectedRevision).toBe(1n);
        const read = await store.readStream(name);
        expect(read.revision).toBe(1n);
        expect(read.events.map((e) => [e.streamName, e.revision, e.type, e.data])).toEqual([
          [name, 0n, 'A', { n: 1, nested: { s: 'é✓' } }],
          [name, 1n, 'B', { n: 2 }],
        ]);
        expect(read.events[0]!.id).toBe(id);
        expect(read.events[0]!.metadata).toEqual({ causation: 'x' });
        expect(read.events[1]!.metadata).toEqual({});
        expect(read.events[1]!.position).toBe(result.position);
        expect(read.events[0]!.createdAt).toBeInstanceOf(Date);
      });

      it('reads a missing stream as empty with revision no_stream', async () => {
        expect(await store.readStream(stream())).toEqual({ revision: 'no_stream', events: [] });
      });

      it('reads from a revision and at most maxCount events, reporting the whole stream revision', async () => {
        const name = stream();
        // More than ten events, so that an order by text ('10' < '2') would show.
        await store.appendToStream(
          name,
          Array.from({ length: 12 }, (_, n) => event('N', { n })),
        );
        expect((await store.readStream(name)).events.map((e) => e.data)).toEqual(
          Array.from({ length: 12 }, (_, n) => ({ n })),
        );
        const read = await store.readStream(name, { fromRevision: 9n, maxCount: 2 });
        expect(read.revision).toBe(11n);
        expect(read.events.map((e) => e.revision)).toEqual([9n, 10n]);
        expect((await store.readStream(name, { fromRevision: 20n })).events).toEqual([]);
      });

      it('stores absent data as null', async () => {
        const name = stream();
        await store.appendToStream(name, [
          { type: 'Bare', data: undefined },
          { type: 'Null', data: null },
        ]);
        expect((await store.readStream(name)).events.map((e) => e.data)).toEqual([null, null]);
      });

      it('refuses an empty append', async () => {
        await expect(store.appendToStream(stream(), [])).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('expected revision', () => {
      it('no_stream creates a stream and refuses an existing one without writing', async () => {
        const name = stream();
        await store.appendToStream(name, [event('A')], { expectedRevision: 'no_stream' });
        const error = await expectConflict(
          store.appendToStream(name, [event('B')], { expectedRevision: 'no_stream' }),
          0n,
        );
        expect(error.streamName).toBe(name);
        expect(error.expected).toBe('no_stream');
        expect((await store.readStream(name)).events.map((e) => e.type)).toEqual(['A']);
      });

      it('stream_exists refuses a missing stream and appends to an existing one', async () => {
        const name = stream();
        await expectConflict(
          store.appendToStream(name, [event('A')], { expectedRevision: 'stream_exists' }),
          'no_stream',
        );
        expect(await store.readStream(name)).toEqual({ revision: 'no_stream', events: [] });
        await store.appendToStream(name, [event('A')]);
        const result = await store.appendToStream(name, [event('B')], { expectedRevision: 'stream_exists' });
        expect(result.nextExpectedRevision).toBe(1n);
      });

      it('any appends whether or not the stream exists, and is the default', async () => {
        const name = stream();
        expect(
          (await store.appendToStream(name, [event('A')], { expectedRevision: 'any' })).nextExpectedRevision,
        ).toBe(0n);
        expect((await store.appendToStream(name, [event('B'), event('C')])).nextExpectedRevision).toBe(2n);
      });

      it('a revision appends only when it is the last revision, reporting the actual one otherwise', async () => {
        const name = stream();
        await expectConflict(store.appendToStream(name, [event('A')], { expectedRevision: 0n }), 'no_stream');
        await store.appendToStream(name, [event('A'), event('B')], { expectedRevision: 'no_stream' });
        const error = await expectConflict(
          store.appendToStream(name, [event('X')], { expectedRevision: 0n }),
          1n,
        );
        expect(error.expected).toBe(0n);
        await expectConflict(store.appendToStream(name, [event('X')], { expectedRevision: 5n }), 1n);
        const result = await store.appendToStream(name, [event('C')], { expectedRevision: 1n });
        expect(result.nextExpectedRevision).toBe(2n);
        expect((await store.readStream(name)).events.map((e) => e.type)).toEqual(['A', 'B', 'C']);
      });

      it('of 50 concurrent appenders expecting one revision exactly one wins and the stream has no gaps', async () => {
        const name = stream();
        await store.appendToStream(name, [event('Start')], { expectedRevision: 'no_stream' });
        const { won, errors } = await settle(
          Array.from({ length: 50 }, (_, i) =>
            store.appendToStream(name, [event('Racer', { i }), event('Racer', { i })], {
              expectedRevision: 0n,
            }),
          ),
        );
        expect(won).toBe(1);
        expect(errors).toHaveLength(49);
        for (const error of errors) expect(error).toBeInstanceOf(WrongExpectedVersionError);
        const read = await store.readStream(name);
        expect(read.events.map((e) => e.revision)).toEqual([0n, 1n, 2n]);
        expect(read.events[1]!.data).toEqual(read.events[2]!.data);
      });

      for (const expectedRevision of ['any', 'stream_exists'] as const) {
        it(`30 concurrent appenders with ${expectedRevision} all land, each append contiguous, no gaps`, async () => {
          const name = stream();
          await store.appendToStream(name, [event('Start', { writer: -1, n: 0 })]);
          const results = await Promise.all(
            Array.from({ length: 30 }, (_, writer) =>
              store.appendToStream(name, [event('W', { writer, n: 0 }), event('W', { writer, n: 1 })], {
                expectedRevision,
              }),
            ),
          );
          const read = await store.readStream(name);
          expect(read.events.map((e) => e.revision)).toEqual(Array.from({ length: 61 }, (_, i) => BigInt(i)));
          for (const result of results) {
            const last = read.events[Number(result.nextExpectedRevision)]!.data as {
              writer: number;
              n: number;
            };
            const first = read.events[Number(result.nextExpectedRevision) - 1]!.data as {
              writer: number;
              n: number;
            };
            expect([first.writer, first.n, last.n]).toEqual([last.writer, 0, 1]);
          }
        });
      }

      it('of two racing creators with no_stream exactly one wins', async () => {
        for (let round = 0; round < 10; round++) {
          const name = stream();
          const { won, errors } = await settle([
            store.appendToStream(name, [event('First')], { expectedRevision: 'no_stream' }),
            store.appendToStream(name, [event('Second')], { expectedRevision: 'no_stream' }),
          ]);
          expect(won).toBe(1);
          expect(errors[0]).toBeInstanceOf(WrongExpectedVersionError);
          expect((await store.readStream(name)).events).toHaveLength(1);
        }
      });
    });

    describe('$all', () => {
      it('reads every event after a position in one order, in pages', async () => {
        const before = await readAllPositions(store);
        const last = before.at(-1) ?? 'start';
        const a = stream();
        const b = stream();
        await store.appendToStream(a, [event('A0'), event('A1')]);
        await store.appendToStream(b, [event('B0')]);
        await store.appendToStream(a, [event('A2')]);
        // `$all` may show an append a moment after it returns (the PostgreSQL store waits for
        // older transactions, in any database of its server), so read until all four are there.
        const pages: RecordedEvent[][] = [];
        const mine = () => pages.flat().filter((e) => e.streamName === a || e.streamName === b);
        let from = last;
        const deadline = Date.now() + 20_000;
        while (mine().length < 4 && Date.now() < deadline) {
          const page = await store.readAll({ from, maxCount: 2 });
          if (page.length === 0) await new Promise((r) => setTimeout(r, 10));
          else {
            expect(page.length).toBeLessThanOrEqual(2);
            pages.push(page);
            from = page.at(-1)!.position;
          }
        }
        expect(mine().map((e) => e.type)).toEqual(['A0', 'A1', 'B0', 'A2']);
        const positions = pages.flat().map((e) => e.position);
        expect([...positions].sort()).toEqual(positions);
        expect(new Set(positions).size).toBe(positions.length);
      });

      it('a subscription catches up, then receives live events in order, and ends when closed', async () => {
        const name = stream('live');
        await store.appendToStream(name, [event('Old0'), event('Old1')]);
        const subscription = store.subscribeToAll({ from: 'start' });
        const { received, done, waitFor } = collect(subscription);
        const mine = () => received.filter((e) => e.streamName === name).map((e) => e.type);
        await waitFor(() => mine().length === 2);
        for (let i = 0; i < 5; i++) await store.appendToStream(name, [event(`Live${i}`)]);
        await waitFor(() => mine().length === 7);
        expect(mine()).toEqual(['Old0', 'Old1', 'Live0', 'Live1', 'Live2', 'Live3', 'Live4']);
        await subscription.close();
        await done;
      });

      it('a subscription starts strictly after the position it is given', async () => {
        const name = stream('after');
        const first = await store.appendToStream(name, [event('One')]);
        await store.appendToStream(name, [event('Two')]);
        const subscription = store.subscribeToAll({ from: first.position });
        const { received, done, waitFor } = collect(subscription);
        await waitFor(() => received.some((e) => e.streamName === name));
        await store.appendToStream(name, [event('Three')]);
        await waitFor(() => received.filter((e) => e.streamName === name).length === 2);
        expect(received.filter((e) => e.streamName === name).map((e) => e.type)).toEqual(['Two', 'Three']);
        await subscription.close();
        await done;
      });

      it('delivers 10,000 events from 20 concurrent writers on 200 streams exactly once, in stream order', async () => {
        const category = `bulk${randomUUID().replaceAll('-', '')}`;
        const streams = Array.from({ length: 200 }, () => `${category}-${randomUUID()}`);
        const start = (await readAllPositions(store)).at(-1) ?? 'start';
        const subscription = store.subscribeToAll({ from: start });
        const { received, done, waitFor } = collect(subscription);
        const mine = () => received.filter((e) => e.streamName.startsWith(`${category}-`));

        await Promise.all(
          Array.from({ length: 20 }, async (_, writer) => {
            // Each writer owns 10 streams and appends 50 events to each, in batches of 1 to 3.
            const owned = streams.slice(writer * 10, writer * 10 + 10);
            const left = new Map(owned.map((s) => [s, 50]));
            let seq = 0;
            while (left.size > 0) {
              const name = owned[seq++ % owned.length]!;
              const remaining = left.get(name);
              if (remaining === undefined) continue;
              const size = Math.min(remaining, 1 + (seq % 3));
              await store.appendToStream(
                name,
                Array.from({ length: size }, (_, i) => event('Bulk', { n: 50 - remaining + i })),
              );
              if (remaining - size === 0) left.delete(name);
              else left.set(name, remaining - size);
            }
          }),
        );

        await waitFor(() => mine().length >= 10_000, 60_000);
        await subscription.close();
        await done;

        const readBack: RecordedEvent[] = [];
        let from = start;
        for (;;) {
          const page = await store.readAll({ from, maxCount: 1000 });
          if (page.length === 0) break;
          readBack.push(...page.filter((e) => e.streamName.startsWith(`${category}-`)));
          from = page.at(-1)!.position;
        }
        for (const events of [mine(), readBack]) {
          expect(events).toHaveLength(10_000);
          expect(new Set(events.map((e) => e.id)).size).toBe(10_000);
          const next = new Map<string, number>();
          for (const e of events) {
            const expected = next.get(e.streamName) ?? 0;
            expect(e.revision).toBe(BigInt(expected));
            expect(e.data).toEqual({ n: expected });
            next.set(e.streamName, expected + 1);
          }
          expect([...next.values()].every((n) => n === 50)).toBe(true);
        }
        expect(mine().map((e) => e.id)).toEqual(readBack.map((e) => e.id));
      }, 120_000);

      it('never lets a late committer slip behind what a subscriber has seen', async (context) => {
        if (!subject.beginAppend) {
          context.skip();
          return;
        }
        const early = stream('late');
        const later = stream('late');
        const subscription = store.subscribeToAll({
          from: (await readAllPositions(store)).at(-1) ?? 'start',
        });
        const { received, done, waitFor } = collect(subscription);
        // A takes its position first but commits last; B commits in between.
        const a = await subject.beginAppend(early, [event('A')]);
        await store.appendToStream(later, [event('B')]);
        await new Promise((r) => setTimeout(r, 300));
        await a.commit();
        await waitFor(
          () => received.some((e) => e.streamName === early) && received.some((e) => e.streamName === later),
        );
        await new Promise((r) => setTimeout(r, 100));
        const seen = received
          .filter((e) => e.streamName === early || e.streamName === later)
          .map((e) => e.type);
        expect([...seen].sort()).toEqual(['A', 'B']);
        const positions = received.map((e) => e.position);
        expect([...positions].sort()).toEqual(positions);
        await subscription.close();
        await done;
      });
    });
  });
};

const readAllPositions = async (store: EventStore): Promise<string[]> => {
  const positions: string[] = [];
  let from: string = 'start';
  for (;;) {
    const page = await store.readAll({ from, maxCount: 1000 });
    if (page.length === 0) return positions;
    for (const e of page) positions.push(e.position);
    from = page.at(-1)!.position;
  }
};
