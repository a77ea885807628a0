import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/eventstore/eventStore.js';
import { PostgresEventStore } from '../../src/eventstore/postgres/postgresEventStore.js';
import { postgresSubject, type StoreSubject } from '../support/stores.js';

const waitFor = async (predicate: () => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('PostgreSQL subscriptions across processes', () => {
  let subject: StoreSubject;
  beforeAll(async () => {
    subject = await postgresSubject();
  });
  afterAll(async () => subject?.teardown());

  it("wake on another process's appends, and keep going when their listener connection is killed", async () => {
    // A long poll interval: a subscriber that relied on polling alone would miss the deadline below.
    const reader = new PostgresEventStore({ pool: subject.database!.pool, pollIntervalMs: 60_000 });
    const writer = subject.secondStore();
    const name = `remote-${randomUUID()}`;
    const received: RecordedEvent[] = [];
    const subscription = reader.subscribeToAll({ from: 'start' });
    const done = (async () => {
      for await (const e of subscription) if (e.streamName === name) received.push(e);
    })();

    await writer.appendToStream(name, [{ type: 'First', data: {} }]);
    await waitFor(() => received.length === 1, 10_000);

    const killed = await subject.database!.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
    );
    expect(killed.rowCount).toBeGreaterThan(0);
    // The listener reconnects after a pause; appends made meanwhile still arrive once it is back.
    await new Promise((r) => setTimeout(r, 1500));
    await writer.appendToStream(name, [{ type: 'Second', data: {} }]);
    await waitFor(() => received.length === 2, 10_000);
    expect(received.map((e) => e.type)).toEqual(['First', 'Second']);

    await subscription.close();
    await done;
    await reader.close();
  });

  it('a consumer that breaks out of its loop releases the subscription', async () => {
    const store = new PostgresEventStore({ pool: subject.database!.pool });
    await store.appendToStream(`x-${randomUUID()}`, [{ type: 'One', data: {} }]);
    for await (const _ of store.subscribeToAll()) break;
    // close() would wait for a subscription that was still open.
    await store.close();
  });
});
