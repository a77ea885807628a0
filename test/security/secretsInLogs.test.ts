import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callJson, startFlashtix } from '../support/flashtixProcess.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';
import { waitFor } from '../support/waitFor.js';
import { startWebhookReceiver } from '../support/webhookReceiver.js';

const JWT_SECRET = `jwt-${randomUUID()}-${randomUUID()}`;
const ADMIN_PASSWORD = `admin-${randomUUID()}`;
const DATABASE_PASSWORD = `db-${randomUUID()}`;
const BUYER_PASSWORD = `buyer-${randomUUID()}`;
const WRONG_PASSWORD = `wrong-${randomUUID()}`;
/** A receiver's own token in its webhook URL, as some receivers want. */
const RECEIVER_TOKEN = `receiver-${randomUUID()}`;

describe('secrets stay out of the logs', () => {
  let database: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'flashtix-secrets-'));
  });
  afterAll(async () => {
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('at the most verbose level, through sign-ups, logins good and bad, orders, payments, refusals and webhooks', async () => {
    // The embedded server has a generated password; a local server that trusts connections
    // accepts (and ignores) one of ours.
    const url = new URL(database.url);
    if (!url.password) url.password = DATABASE_PASSWORD;
    const databasePassword = decodeURIComponent(url.password);
    const { server, origin } = await startFlashtix({
      DATA_DIR: dataDir,
      LOG_LEVEL: 'trace',
      DATABASE_URL: url.toString(),
      JWT_SECRET,
      ADMIN_EMAIL: 'admin@example.com',
      ADMIN_PASSWORD,
    });
    const call = (method: string, route: string, body?: unknown, headers: Record<string, string> = {}) =>
      callJson(origin, method, route, { headers, body });

    const admin = await call('POST', '/auth/login', { email: 'admin@example.com', password: ADMIN_PASSWORD });
    expect(admin.status).toBe(200);
    const adminToken = admin.body.token as string;
    const asAdmin = { authorization: `Bearer ${adminToken}` };
    expect(
      (await call('POST', '/auth/login', { email: 'admin@example.com', password: WRONG_PASSWORD })).status,
    ).toBe(401);
    const buyer = await call('POST', '/auth/register', {
      email: `${randomUUID()}@example.com`,
      password: BUYER_PASSWORD,
      name: 'Buyer',
    });
    expect(buyer.status).toBe(201);
    const buyerToken = buyer.body.token as string;
    const asBuyer = { authorization: `Bearer ${buyerToken}` };
    // A password that is too short is refused with its field named, not its value.
    expect(
      (await call('POST', '/auth/register', { email: 'short@example.com', password: 'sh0rt', name: 'S' }))
        .status,
    ).toBe(400);
    // A webhook whose first delivery fails, so that the failure is logged too.
    const receiver = await startWebhookReceiver((_event, index) => (index === 0 ? 500 : 204));
    const webhook = await call(
      'POST',
      '/admin/webhooks',
      { url: `${receiver.url}?token=${RECEIVER_TOKEN}`, events: ['order.confirmed'] },
      asAdmin,
    );
    expect(webhook.status).toBe(201);
    const webhookSecret = webhook.body.secret as string;
    receiver.setSecret(webhookSecret);
    const show = await call(
      'POST',
      '/admin/shows',
      {
        name: 'Quiet Night',
        venue: 'Hall',
        startsAt: '2031-01-01T20:00:00Z',
        currency: 'EUR',
        ticketTypes: [{ name: 'Floor', priceCents: 100, capacity: 1 }],
      },
      asAdmin,
    );
    const line = {
      showId: show.body.showId,
      lines: [
        { ticketTypeId: (show.body.ticketTypes as { ticketTypeId: string }[])[0]!.ticketTypeId, quantity: 1 },
      ],
    };
    const order = await call('POST', '/orders', line, { ...asBuyer, 'idempotency-key': randomUUID() });
    expect(order.status).toBe(201);
    const paid = await call(
      'POST',
      `/orders/${order.body.orderId as string}/payment`,
      { paymentToken: 'tok_visa' },
      { ...asBuyer, 'idempotency-key': randomUUID() },
    );
    expect(paid.status).toBe(200);
    // Refusals and bad tokens: a sold-out order, a forged token, another customer's order.
    expect(
      (await call('POST', '/orders', line, { ...asBuyer, 'idempotency-key': randomUUID() })).status,
    ).toBe(409);
    expect((await call('GET', '/orders', undefined, { authorization: `Bearer ${buyerToken}x` })).status).toBe(
      401,
    );
    expect((await call('GET', '/admin/audit', undefined, asBuyer)).status).toBe(403);
    await waitFor('the webhook delivered on its second attempt', async () => receiver.handled().length === 1);
    expect(receiver.received.map((r) => [r.answer, r.signed])).toEqual([
      [500, true],
      [204, true],
    ]);
    await receiver.close();

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const output = server.output();
    // The run did log at trace level: requests and the start-up are there.
    expect(output).toContain('FlashTix ready');
    expect(output).toMatch(/incoming request/);
    expect(output).toContain('webhook delivery failed');
    for (const secret of [
      JWT_SECRET,
      ADMIN_PASSWORD,
      databasePassword,
      BUYER_PASSWORD,
      WRONG_PASSWORD,
      'sh0rt',
      webhookSecret,
      RECEIVER_TOKEN,
      adminToken,
      buyerToken,
      // A token's signature alone is enough to replay it.
      adminToken.split('.')[2]!,
      buyerToken.split('.')[2]!,
    ])
      expect(output.includes(secret), `a secret in the logs: ${secret.slice(0, 12)}…`).toBe(false);
  }, 120_000);
});
