import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CustomerDispatcher } from '../../src/notifications/customerDispatcher.js';
import type { Notifier, OutgoingNotification } from '../../src/notifications/notifier.js';
import { runMigrations } from '../../src/platform/migrations.js';
import { allMigrations } from '../../src/runtime.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';
import { waitFor } from '../support/waitFor.js';

describe('delivering notifications to customers', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await runMigrations(database.pool, allMigrations);
  });
  afterAll(() => database.drop());
  beforeEach(() => database.pool.query('TRUNCATE notifications'));

  /** `count` notifications in the outbox, a second apart, oldest first; returns their ids. */
  const outbox = async (count: number) => {
    const ids = Array.from({ length: count }, () => randomUUID());
    await database.pool.query(
      `INSERT INTO notifications (notification_id, customer_id, order_id, kind, payload, created_at)
       SELECT id, 'customer-' || i, gen_random_uuid(), 'order.confirmed', jsonb_build_object('i', i),
              now() - (($2::int - i) * interval '1 second')
       FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, i)`,
      [ids, count],
    );
    return ids;
  };
  const recorder = () => {
    const sent: OutgoingNotification[] = [];
    return { sent, notifier: { notify: async (n) => void sent.push(n) } satisfies Notifier };
  };
  const delivery = async (id: string) =>
    (
      await database.pool.query<{ delivered: boolean; attempts: number; last_error: string | null }>(
        `SELECT delivered_at IS NOT NULL AS delivered, delivery_attempts AS attempts, last_error
         FROM notifications WHERE notification_id = $1`,
        [id],
      )
    ).rows[0]!;

  it('sends each due notification once, oldest first, and marks it delivered', async () => {
    const ids = await outbox(5);
    const { sent, notifier } = recorder();
    const dispatcher = new CustomerDispatcher({ pool: database.pool, notifier });
    expect(await dispatcher.dispatchDue()).toBe(5);
    expect(await dispatcher.dispatchDue()).toBe(0);
    expect(sent.map((n) => n.notificationId)).toEqual(ids);
    expect(sent[0]).toMatchObject({ customerId: 'customer-1', kind: 'order.confirmed', payload: { i: 1 } });
    for (const id of ids)
      expect(await delivery(id)).toEqual({ delivered: true, attempts: 1, last_error: null });
  });

  it('tries a failed send again later, backing off, until it goes', async () => {
    const [id] = await outbox(1);
    let calls = 0;
    const notifier: Notifier = {
      notify: async () => {
        calls++;
        if (calls <= 2) throw new Error(`channel down (${calls})`);
      },
    };
    const dispatcher = new CustomerDispatcher({ pool: database.pool, notifier, retryBaseMs: 50 });
    expect(await dispatcher.dispatchDue()).toBe(0);
    expect(await delivery(id!)).toEqual({ delivered: false, attempts: 1, last_error: 'channel down (1)' });
    // Not due again at once: the first retry waits 50 ms, the second 100 ms.
    expect(await dispatcher.dispatchDue()).toBe(0);
    expect(calls).toBe(1);
    dispatcher.start();
    await waitFor('the third attempt', async () => (await delivery(id!)).delivered);
    await dispatcher.stop();
    expect(calls).toBe(3);
    expect(await delivery(id!)).toEqual({ delivered: true, attempts: 3, last_error: null });
  });

  it('shares the work between dispatchers without sending anything twice', async () => {
    const ids = await outbox(200);
    const { sent, notifier } = recorder();
    const slow: Notifier = {
      notify: async (n) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        await notifier.notify(n);
      },
    };
    const dispatchers = [1, 2, 3].map(
      () => new CustomerDispatcher({ pool: database.pool, notifier: slow, batchSize: 20, intervalMs: 10 }),
    );
    for (const d of dispatchers) d.start();
    await waitFor('every notification sent', async () => sent.length >= ids.length);
    await Promise.all(dispatchers.map((d) => d.stop()));
    expect(sent).toHaveLength(ids.length);
    expect(new Set(sent.map((n) => n.notificationId))).toEqual(new Set(ids));
  });

  it('takes over what a dispatcher claimed and never finished, once its lease is over', async () => {
    const [id] = await outbox(1);
    const stuck = new CustomerDispatcher({
      pool: database.pool,
      notifier: { notify: () => new Promise<void>(() => undefined) },
      leaseMs: 200,
    });
    void stuck.dispatchDue();
    await waitFor('the claim', async () => {
      const { rows } = await database.pool.query<{ leased: boolean }>(
        'SELECT next_attempt_at > now() AS leased FROM notifications WHERE notification_id = $1',
        [id],
      );
      return rows[0]!.leased;
    });
    const { sent, notifier } = recorder();
    const other = new CustomerDispatcher({ pool: database.pool, notifier, intervalMs: 20 });
    expect(await other.dispatchDue()).toBe(0);
    other.start();
    await waitFor('the other dispatcher to send it', async () => sent.length === 1);
    await other.stop();
    expect(await delivery(id!)).toMatchObject({ delivered: true });
  });
});
