import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookEventType } from '../../src/notifications/notificationReactor.js';
import type { WebhookDelivery } from '../../src/notifications/webhooks/webhookDeliveries.js';
import { WebhookDispatcher } from '../../src/notifications/webhooks/webhookDispatcher.js';
import type { OrderBody } from '../support/apiClient.js';
import { useApiStack } from '../support/apiStack.js';
import { useNotificationReactor } from '../support/notificationReactorFixture.js';
import { waitFor } from '../support/waitFor.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

const ALL_EVENTS: WebhookEventType[] = [
  'order.placed',
  'order.confirmed',
  'order.cancelled',
  'order.expired',
  'order.rejected',
];

describe('webhooks', () => {
  const f = useApiStack();
  const reactor = useNotificationReactor(f);
  let dispatcher: WebhookDispatcher;
  beforeAll(() => {
    // Quick retries and a low limit, so that a whole retry schedule fits in a test.
    dispatcher = new WebhookDispatcher({
      pool: f.stack.pool,
      retryBaseMs: 100,
      maxAttempts: 3,
      timeoutMs: 500,
      intervalMs: 20,
      onError: (error) => console.error(error),
    });
    dispatcher.start();
  });
  afterAll(() => dispatcher.stop());

  const receivers: WebhookReceiver[] = [];
  const registered: string[] = [];
  afterEach(async () => {
    for (const id of registered.splice(0)) await remove(id);
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  const admin = () => f.client.bearer(f.adminToken);
  const register = async (receiver: WebhookReceiver, events: WebhookEventType[] = ALL_EVENTS) => {
    const response = await f.stack.api.inject({
      method: 'POST',
      url: '/admin/webhooks',
      headers: admin(),
      payload: { url: receiver.url, events },
    });
    expect(response.statusCode, response.body).toBe(201);
    const webhook = response.json() as { webhookId: string; secret: string };
    receiver.setSecret(webhook.secret);
    registered.push(webhook.webhookId);
    return webhook;
  };
  const receiver = async (...args: Parameters<typeof startWebhookReceiver>) => {
    const started = await startWebhookReceiver(...args);
    receivers.push(started);
    return started;
  };
  const remove = (webhookId: string) =>
    f.stack.api.inject({ method: 'DELETE', url: `/admin/webhooks/${webhookId}`, headers: admin() });
  const deliveries = async (webhookId: string) => {
    const response = await f.stack.api.inject({
      method: 'GET',
      url: `/admin/webhooks/${webhookId}/deliveries?limit=100`,
      headers: admin(),
    });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json() as { items: WebhookDelivery[] }).items;
  };
  const place = async (token: string, show: { showId: string; ticketTypes: { ticketTypeId: string }[] }) =>
    f.client.placeOrder(token, randomUUID(), {
      showId: show.showId,
      lines: [{ ticketTypeId: show.ticketTypes[0]!.ticketTypeId, quantity: 1 }],
    });
  const handledTypes = (r: WebhookReceiver, orderId: string) =>
    r
      .handled()
      .filter((e) => e.data.orderId === orderId)
      .map((e) => e.type);

  describe('registration', () => {
    const webhookRows = async () =>
      (await f.stack.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM webhooks')).rows[0]!.n;

    it('refuses what is not a webhook, writing nothing', async () => {
      const before = await webhookRows();
      const customer = await f.client.register();
      const refusals: [Record<string, string>, Record<string, unknown>, number][] = [
        [admin(), { url: 'ftp://example.com/hook', events: ['order.confirmed'] }, 400],
        [admin(), { url: 'not a url', events: ['order.confirmed'] }, 400],
        [admin(), { url: 'https://user:pw@example.com/hook', events: ['order.confirmed'] }, 400],
        [admin(), { url: `https://example.com/${'x'.repeat(2048)}`, events: ['order.confirmed'] }, 400],
        [admin(), { url: 'https://example.com/hook', events: [] }, 400],
        [admin(), { url: 'https://example.com/hook', events: ['order.shipped'] }, 400],
        [admin(), { url: 'https://example.com/hook', events: ['order.placed', 'order.placed'] }, 400],
        [admin(), { url: 'https://example.com/hook' }, 400],
        [f.client.bearer(customer.token), { url: 'https://example.com/hook', events: ['order.placed'] }, 403],
        [{}, { url: 'https://example.com/hook', events: ['order.placed'] }, 401],
      ];
      for (const [headers, payload, status] of refusals) {
        const response = await f.stack.api.inject({
          method: 'POST',
          url: '/admin/webhooks',
          headers,
          payload,
        });
        expect(response.statusCode, JSON.stringify(payload)).toBe(status);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
      expect(await webhookRows()).toBe(before);
    });

    it('gives the secret once, lists webhooks without it, and removes them', async () => {
      const created = await f.stack.api.inject({
        method: 'POST',
        url: '/admin/webhooks',
        headers: admin(),
        payload: {
          url: 'https://example.com/hooks/ünïcode path',
          events: ['order.confirmed', 'order.expired'],
        },
      });
      expect(created.statusCode).toBe(201);
      const webhook = created.json() as { webhookId: string; secret: string; url: string };
      expect(webhook.secret).toMatch(/^whsec_[\w-]{43}$/);
      // Kept as it will be sent.
      expect(webhook.url).toBe('https://example.com/hooks/%C3%BCn%C3%AFcode%20path');

      const listed = await f.stack.api.inject({ method: 'GET', url: '/admin/webhooks', headers: admin() });
      expect(listed.statusCode).toBe(200);
      const items = (listed.json() as { items: Record<string, unknown>[] }).items;
      expect(items).toContainEqual({
        webhookId: webhook.webhookId,
        url: webhook.url,
        events: ['order.confirmed', 'order.expired'],
        createdAt: expect.any(String),
      });
      expect(listed.body).not.toContain(webhook.secret);

      expect((await remove(webhook.webhookId)).statusCode).toBe(204);
      const again = await remove(webhook.webhookId);
      expect(again.statusCode).toBe(404);
      expect(again.json()).toMatchObject({ code: 'not_found' });
      const after = await f.stack.api.inject({ method: 'GET', url: '/admin/webhooks', headers: admin() });
      expect(after.body).not.toContain(webhook.webhookId);
      const log = await f.stack.api.inject({
        method: 'GET',
        url: `/admin/webhooks/${webhook.webhookId}/deliveries`,
        headers: admin(),
      });
      expect(log.statusCode).toBe(404);
      expect((await remove(randomUUID())).statusCode).toBe(404);
    });
  });

  it('delivers every outcome once, signed, in order per order, and only the types subscribed to', async () => {
    const all = await receiver();
    const confirmedOnly = await receiver();
    await register(all);
    await register(confirmedOnly, ['order.confirmed']);

    const show = await f.client.createShow(f.adminToken, [{ capacity: 20 }]);
    const buyer = await f.client.register();
    const confirmed = (await place(buyer.token, show)).json() as OrderBody;
    await f.client.pay(buyer.token, confirmed.orderId, randomUUID());
    const cancelled = (await place(buyer.token, show)).json() as OrderBody;
    await f.client.cancel(buyer.token, cancelled.orderId);
    const declined = (await place(buyer.token, show)).json() as OrderBody;
    await f.client.pay(buyer.token, declined.orderId, randomUUID(), 'tok_decline');
    const lastSeat = await f.client.createShow(f.adminToken, [{ capacity: 1 }]);
    await place(buyer.token, lastSeat);
    const refused = await place(buyer.token, lastSeat);
    expect(refused.statusCode).toBe(409);
    const brief = await f.client.createShow(f.adminToken, [{ capacity: 5 }], { holdSeconds: 1 });
    const expired = (await place(buyer.token, brief)).json() as OrderBody;

    const expected: Record<string, string[]> = {
      [confirmed.orderId]: ['order.placed', 'order.confirmed'],
      [cancelled.orderId]: ['order.placed', 'order.cancelled'],
      [declined.orderId]: ['order.placed', 'order.cancelled'],
      [expired.orderId]: ['order.placed', 'order.expired'],
    };
    await waitFor('every event at the receiver', async () =>
      Object.entries(expected).every(([id, types]) => handledTypes(all, id).length === types.length),
    );
    for (const [orderId, types] of Object.entries(expected))
      expect(handledTypes(all, orderId)).toEqual(types);
    await waitFor('the refusal at the receiver', async () =>
      all.handled().some((e) => e.type === 'order.rejected'),
    );
    const rejections = all.handled().filter((e) => e.type === 'order.rejected');
    expect(rejections.map((e) => e.data)).toEqual([
      expect.objectContaining({ status: 'rejected', reason: 'sold_out', customerId: buyer.customerId }),
    ]);
    // A refused order held no seats: it was never placed for a receiver.
    expect(handledTypes(all, rejections[0]!.data.orderId)).toEqual(['order.rejected']);

    // Each event once, every request signed, and the headers say what the body says.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(new Set(all.received.map((r) => r.event.id)).size).toBe(all.received.length);
    for (const r of all.received) {
      expect(r.signed).toBe(true);
      expect(r.headers['x-flashtix-event-id']).toBe(r.event.id);
      expect(r.headers['x-flashtix-event-type']).toBe(r.event.type);
      expect(r.headers['content-type']).toBe('application/json');
    }
    expect(all.handled().find((e) => e.type === 'order.confirmed')).toMatchObject({
      type: 'order.confirmed',
      createdAt: expect.any(String),
      data: {
        orderId: confirmed.orderId,
        customerId: buyer.customerId,
        showId: show.showId,
        status: 'confirmed',
        totalCents: 5000,
        currency: 'EUR',
        lines: [{ ticketTypeId: show.ticketTypes[0]!.ticketTypeId, quantity: 1, unitPriceCents: 5000 }],
      },
    });
    expect(
      all.handled().find((e) => e.data.orderId === expired.orderId && e.type === 'order.placed')?.data,
    ).toMatchObject({ status: 'reserved', expiresAt: expired.expiresAt });

    await waitFor(
      'the confirmation at the second endpoint',
      async () => confirmedOnly.handled().length === 1,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(confirmedOnly.received.map((r) => [r.event.type, r.event.data.orderId])).toEqual([
      ['order.confirmed', confirmed.orderId],
    ]);
  });

  it('tries again with backoff: a receiver failing twice gets the same event, signed, on the third attempt', async () => {
    // The first two requests of each event fail; order.confirmed must wait for order.placed.
    const flaky = await receiver((_event, index) => (index < 2 ? 500 : 200));
    const { webhookId } = await register(flaky, ['order.placed', 'order.confirmed']);
    const show = await f.client.createShow(f.adminToken, [{ capacity: 5 }]);
    const buyer = await f.client.register();
    const order = (await place(buyer.token, show)).json() as OrderBody;
    await f.client.pay(buyer.token, order.orderId, randomUUID());

    await waitFor('both events handled', async () => flaky.handled().length === 2, 10_000);
    expect(
      flaky.received.map((r) => [r.event.type, r.answer, r.headers['x-flashtix-delivery-attempt']]),
    ).toEqual([
      ['order.placed', 500, '1'],
      ['order.placed', 500, '2'],
      ['order.placed', 200, '3'],
      ['order.confirmed', 500, '1'],
      ['order.confirmed', 500, '2'],
      ['order.confirmed', 200, '3'],
    ]);
    const placed = flaky.received.filter((r) => r.event.type === 'order.placed');
    expect(new Set(placed.map((r) => r.event.id)).size).toBe(1);
    expect(new Set(placed.map((r) => r.rawBody)).size).toBe(1);
    expect(placed.every((r) => r.signed)).toBe(true);

    // The receiver answered before the dispatcher wrote down what it answered.
    await waitFor('both deliveries marked delivered', async () =>
      (await deliveries(webhookId)).every((d) => d.status === 'delivered'),
    );
    const log = await deliveries(webhookId);
    expect(log.map((d) => [d.eventType, d.status, d.attempts.map((a) => a.statusCode)])).toEqual([
      ['order.confirmed', 'delivered', [500, 500, 200]],
      ['order.placed', 'delivered', [500, 500, 200]],
    ]);
    const [first, second, third] = log[1]!.attempts;
    expect(first!.error).toBe('answered 500');
    expect(third!.error).toBeNull();
    // Backoff: 100 ms before the second attempt, 200 ms before the third.
    expect(Date.parse(second!.startedAt) - Date.parse(first!.finishedAt!)).toBeGreaterThanOrEqual(90);
    expect(Date.parse(third!.startedAt) - Date.parse(second!.finishedAt!)).toBeGreaterThanOrEqual(190);
    expect(log[1]!.event).toEqual(JSON.parse(placed[0]!.rawBody));
  });

  it('marks a delivery failed after the last attempt, whether the receiver errs, says nothing or dawdles', async () => {
    const failing = await receiver(() => 503);
    const silent = await receiver(() => 'none');
    // Headers at once and a byte every 100 ms: only a deadline on the whole attempt ends it.
    const slow = await receiver(() => 'trickle');
    const erring = await register(failing, ['order.placed']);
    const hanging = await register(silent, ['order.placed']);
    const dawdling = await register(slow, ['order.placed']);
    const show = await f.client.createShow(f.adminToken, [{ capacity: 5 }]);
    const buyer = await f.client.register();
    await place(buyer.token, show);

    for (const { webhookId } of [erring, hanging, dawdling])
      await waitFor(
        'the delivery to fail',
        async () => (await deliveries(webhookId))[0]?.status === 'failed',
      );
    const [gaveUp] = await deliveries(erring.webhookId);
    expect(gaveUp!.attempts.map((a) => [a.statusCode, a.error])).toEqual([
      [503, 'answered 503'],
      [503, 'answered 503'],
      [503, 'answered 503'],
    ]);
    expect(gaveUp).toMatchObject({ nextAttemptAt: null, finishedAt: expect.any(String) });
    for (const { webhookId } of [hanging, dawdling]) {
      const [timedOut] = await deliveries(webhookId);
      expect(timedOut!.attempts.map((a) => [a.statusCode, a.error])).toEqual([
        [null, 'no answer within 500 ms'],
        [null, 'no answer within 500 ms'],
        [null, 'no answer within 500 ms'],
      ]);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(failing.received).toHaveLength(3);
    expect(silent.received).toHaveLength(3);
    expect(slow.received).toHaveLength(3);
  });

  it('cancels what a removed webhook had pending, even a delivery on the wire', async () => {
    const silent = await receiver(() => 'none');
    const { webhookId } = await register(silent, ['order.placed']);
    const show = await f.client.createShow(f.adminToken, [{ capacity: 5 }]);
    const buyer = await f.client.register();
    await place(buyer.token, show);
    await waitFor('the first attempt on the wire', async () => silent.received.length === 1);

    expect((await remove(webhookId)).statusCode).toBe(204);
    registered.splice(registered.indexOf(webhookId), 1);
    const delivery = async () =>
      (
        await f.stack.pool.query<{ status: string; finished: boolean }>(
          `SELECT d.status, bool_and(a.finished_at IS NOT NULL) AS finished
           FROM webhook_deliveries d JOIN webhook_delivery_attempts a USING (delivery_id)
           WHERE d.webhook_id = $1 GROUP BY d.status`,
          [webhookId],
        )
      ).rows;
    expect((await delivery())[0]?.status).toBe('cancelled');
    // The attempt on the wire times out and is written down; the delivery stays cancelled.
    await waitFor('the attempt on the wire to end', async () => (await delivery())[0]?.finished === true);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await delivery()).toEqual([{ status: 'cancelled', finished: true }]);
    expect(silent.received).toHaveLength(1);
  });

  it('shares the deliveries between dispatchers: none sent twice, each order in order', async () => {
    const busy = await receiver(() => 204, { jitterMs: 20 });
    await register(busy);
    const others = [1, 2].map(
      () =>
        new WebhookDispatcher({
          pool: f.stack.pool,
          intervalMs: 5,
          onError: (error) => console.error(error),
        }),
    );
    for (const other of others) other.start();
    try {
      const show = await f.client.createShow(f.adminToken, [{ capacity: 100 }]);
      const buyers = await Promise.all(Array.from({ length: 8 }, () => f.client.register()));
      const orders = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const buyer = buyers[i % buyers.length]!;
          const order = (await place(buyer.token, show)).json() as OrderBody;
          if (i % 2 === 0) await f.client.pay(buyer.token, order.orderId, randomUUID());
          else await f.client.cancel(buyer.token, order.orderId);
          return order.orderId;
        }),
      );
      await waitFor('every event handled', async () => busy.handled().length === 80);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(busy.received).toHaveLength(80);
      for (const [i, orderId] of orders.entries()) {
        const [placed, outcome] = busy.received.filter((r) => r.event.data.orderId === orderId);
        expect([placed?.event.type, outcome?.event.type]).toEqual([
          'order.placed',
          i % 2 === 0 ? 'order.confirmed' : 'order.cancelled',
        ]);
        // Not merely arrived in order: the outcome was sent only once the placement was answered.
        expect(outcome!.arrivedAt).toBeGreaterThanOrEqual(placed!.answeredAt!);
      }
    } finally {
      await Promise.all(others.map((other) => other.stop()));
    }
  });

  it('sends nothing further to a webhook once it is removed', async () => {
    const leaving = await receiver();
    const staying = await receiver();
    const { webhookId } = await register(leaving, ['order.placed', 'order.confirmed']);
    await register(staying, ['order.placed', 'order.confirmed']);
    const show = await f.client.createShow(f.adminToken, [{ capacity: 10 }]);
    const buyer = await f.client.register();
    const first = (await place(buyer.token, show)).json() as OrderBody;
    await waitFor('the first event', async () => leaving.handled().length === 1);

    expect((await remove(webhookId)).statusCode).toBe(204);
    registered.splice(registered.indexOf(webhookId), 1);
    await f.client.pay(buyer.token, first.orderId, randomUUID());
    const second = (await place(buyer.token, show)).json() as OrderBody;
    await waitFor('the other endpoint to get the later events', async () => staying.handled().length === 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(leaving.received.map((r) => [r.event.type, r.event.data.orderId])).toEqual([
      ['order.placed', first.orderId],
    ]);
    expect(handledTypes(staying, second.orderId)).toEqual(['order.placed']);
  });

  it('shows receivers, in the README, the very signature check these tests run', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const example = await readFile(new URL('../../examples/webhookReceiver.ts', import.meta.url), 'utf8');
    const start = readme.indexOf('/** True when `header`');
    const check = readme.slice(start, readme.indexOf('\n};\n```', start) + 3);
    expect(start).toBeGreaterThan(0);
    expect(check).toMatch(/timingSafeEqual\(signature, expected\);\n};$/);
    expect(example).toContain(check);
  });

  it('writes no delivery twice, and none of older events to a newer webhook, when the log is read again', async () => {
    const counts = async () =>
      (
        await f.stack.pool.query<{ deliveries: number; distinct_events: number }>(
          `SELECT count(*)::int AS deliveries, count(DISTINCT (webhook_id, event_id))::int AS distinct_events
           FROM webhook_deliveries`,
        )
      ).rows[0]!;
    const before = await counts();
    expect(before.deliveries).toBeGreaterThan(10);
    expect(before.distinct_events).toBe(before.deliveries);
    const late = await receiver();
    const { webhookId } = await register(late);

    await reactor.readTheLogAgain();
    expect(await counts()).toEqual(before);
    expect(await deliveries(webhookId)).toEqual([]);
  });
});
