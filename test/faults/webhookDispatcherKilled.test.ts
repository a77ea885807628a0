import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookDelivery } from '../../src/notifications/webhooks/webhookDeliveries.js';
import { callJson, startFlashtix } from '../support/flashtixProcess.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';
import { waitFor } from '../support/waitFor.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

const JWT_SECRET = `webhook-kill-${randomUUID()}-${randomUUID()}`;

describe('a webhook dispatcher killed mid-delivery', () => {
  let database: TestDatabase;
  let dataDir: string;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'flashtix-webhook-kill-'));
    // The very first request gets no answer: the process dies while it waits.
    receiver = await startWebhookReceiver(() => (receiver.received.length === 0 ? 'none' : 204));
  });
  afterAll(async () => {
    await receiver.close();
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  // A claim lasts the timeout and 5 s more: the restarted process takes the delivery over then.
  const start = () =>
    startFlashtix({ DATA_DIR: dataDir, DATABASE_URL: database.url, JWT_SECRET, WEBHOOK_TIMEOUT_MS: '2000' });

  it('delivers again after a restart, with the same event id, and the receiver handles it once', async () => {
    const sign = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 3_600_000 });
    const admin = { authorization: `Bearer ${sign({ sub: randomUUID(), role: 'admin' })}` };
    let { server, origin } = await start();

    const webhook = await callJson(origin, 'POST', '/admin/webhooks', {
      headers: admin,
      body: { url: receiver.url, events: ['order.placed', 'order.confirmed'] },
    });
    expect(webhook.status).toBe(201);
    receiver.setSecret(webhook.body.secret as string);
    const show = await callJson(origin, 'POST', '/admin/shows', {
      headers: admin,
      body: {
        name: 'Blackout',
        venue: 'Hall',
        startsAt: '2031-01-01T20:00:00Z',
        currency: 'EUR',
        ticketTypes: [{ name: 'Floor', priceCents: 100, capacity: 10 }],
      },
    });
    const buyer = await callJson(origin, 'POST', '/auth/register', {
      body: { email: `${randomUUID()}@example.com`, password: 'correct horse battery', name: 'Buyer' },
    });
    const asBuyer = { authorization: `Bearer ${buyer.body.token as string}` };
    const order = await callJson(origin, 'POST', '/orders', {
      headers: { ...asBuyer, 'idempotency-key': 'webhook-kill' },
      body: {
        showId: show.body.showId,
        lines: [
          {
            ticketTypeId: (show.body.ticketTypes as { ticketTypeId: string }[])[0]!.ticketTypeId,
            quantity: 1,
          },
        ],
      },
    });
    expect(order.status).toBe(201);
    const orderId = order.body.orderId as string;
    expect(
      (
        await callJson(origin, 'POST', `/orders/${orderId}/payment`, {
          headers: { ...asBuyer, 'idempotency-key': 'webhook-kill-pay' },
          body: { paymentToken: 'tok_visa' },
        })
      ).status,
    ).toBe(200);

    await waitFor('the first delivery on the wire', async () => receiver.received.length === 1);
    server.child.kill('SIGKILL');
    await server.exited;
    const cutShort = await database.pool.query<{ attempt: number; finished: boolean }>(
      `SELECT attempt, finished_at IS NOT NULL AS finished FROM webhook_delivery_attempts`,
    );
    expect(cutShort.rows).toEqual([{ attempt: 1, finished: false }]);

    ({ server, origin } = await start());
    try {
      await waitFor('both events handled', async () => receiver.handled().length === 2, 30_000);
      const [lost, again, confirmed] = receiver.received;
      expect(receiver.received).toHaveLength(3);
      expect(lost).toMatchObject({ answer: 'none', signed: true, event: { type: 'order.placed' } });
      // The same event, byte for byte, signed anew; the confirmation only once the placement landed.
      expect(again).toMatchObject({ answer: 204, signed: true });
      expect(again!.event.id).toBe(lost!.event.id);
      expect(again!.rawBody).toBe(lost!.rawBody);
      expect(confirmed).toMatchObject({ answer: 204, signed: true, event: { type: 'order.confirmed' } });
      expect(receiver.handled().map((e) => [e.type, e.data.orderId])).toEqual([
        ['order.placed', orderId],
        ['order.confirmed', orderId],
      ]);

      const log = async () =>
        (
          await callJson(origin, 'GET', `/admin/webhooks/${webhook.body.webhookId as string}/deliveries`, {
            headers: admin,
          })
        ).body.items as WebhookDelivery[];
      // The receiver answered before the dispatcher wrote down what it answered.
      await waitFor('both deliveries marked delivered', async () =>
        (await log()).every((d) => d.status === 'delivered'),
      );
      const placed = (await log()).find((d) => d.eventType === 'order.placed');
      expect(placed).toMatchObject({ status: 'delivered', eventId: lost!.event.id });
      expect(placed!.attempts.map((a) => [a.attempt, a.finishedAt === null, a.statusCode])).toEqual([
        [1, true, null],
        [2, false, 204],
      ]);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
