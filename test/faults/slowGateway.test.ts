import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptIdFor } from '../../src/commands/payOrder.js';
import { callJson, type Run, startFlashtix } from '../support/flashtixProcess.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';
import { waitFor } from '../support/waitFor.js';

const JWT_SECRET = `slow-gateway-${randomUUID()}-${randomUUID()}`;
const ORDERS_PER_SHOW = 20;
/** Every payment takes this long at the gateway: longer than a short hold, shorter than a long one. */
const GATEWAY_LATENCY_MS = 1500;

describe('a slow and failing payment gateway', () => {
  let database: TestDatabase;
  let dataDir: string;
  let server: Run | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'flashtix-gateway-'));
  });
  afterAll(async () => {
    server?.child.kill('SIGKILL');
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('charges once whatever the retries, refunds what comes back after the hold, and never charges an error', async () => {
    let origin: string;
    ({ server, origin } = await startFlashtix({
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      JWT_SECRET,
      PAYMENT_GATEWAY_LATENCY_MS: String(GATEWAY_LATENCY_MS),
      HOLD_EXPIRY_INTERVAL_MS: '100',
      HOLD_EXPIRY_GRACE_MS: '0',
    }));
    const send = (method: string, route: string, headers: Record<string, string>, body?: unknown) =>
      callJson(origin, method, route, { headers, body });
    const sign = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 3_600_000 });
    const admin = { authorization: `Bearer ${sign({ sub: randomUUID(), role: 'admin' })}` };
    const showWithHolds = async (holdSeconds: number, capacity: number) => {
      const created = await send('POST', '/admin/shows', admin, {
        name: `Holds of ${holdSeconds} s`,
        venue: 'Hall',
        startsAt: '2031-01-01T20:00:00Z',
        currency: 'EUR',
        holdSeconds,
        ticketTypes: [{ name: 'Floor', priceCents: 2500, capacity, maxPerCustomer: 2 }],
      });
      expect(created.status).toBe(201);
      return {
        showId: created.body.showId as string,
        ticketTypeId: (created.body.ticketTypes as { ticketTypeId: string }[])[0]!.ticketTypeId,
      };
    };
    const placeOrders = async (show: { showId: string; ticketTypeId: string }) =>
      Promise.all(
        Array.from({ length: ORDERS_PER_SHOW }, async () => {
          const customer = { authorization: `Bearer ${sign({ sub: randomUUID(), role: 'customer' })}` };
          const placed = await send(
            'POST',
            '/orders',
            { ...customer, 'idempotency-key': randomUUID() },
            { showId: show.showId, lines: [{ ticketTypeId: show.ticketTypeId, quantity: 2 }] },
          );
          expect(placed.status).toBe(201);
          return { customer, orderId: placed.body.orderId as string, payKey: randomUUID() };
        }),
      );
    /** The same payment three times at once, as an impatient client resending before any answer. */
    const payThrice = (
      order: { customer: Record<string, string>; orderId: string; payKey: string },
      token: string,
    ) =>
      Promise.all(
        [0, 1, 2].map(() =>
          send(
            'POST',
            `/orders/${order.orderId}/payment`,
            { ...order.customer, 'idempotency-key': order.payKey },
            { paymentToken: token },
          ),
        ),
      );

    // Two seats an order: 20 orders on the first show, 40 on the second.
    const shortHolds = await showWithHolds(1, 40);
    const longHolds = await showWithHolds(600, 100);
    const late = await placeOrders(shortHolds);
    const inTime = await placeOrders(longHolds);
    const failing = await placeOrders(longHolds);
    const answers = await Promise.all([
      ...late.map((o) => payThrice(o, 'tok_visa')),
      ...inTime.map((o) => payThrice(o, 'tok_visa')),
      ...failing.map((o) => payThrice(o, 'tok_error')),
    ]);
    const lateAnswers = answers.slice(0, ORDERS_PER_SHOW);
    const inTimeAnswers = answers.slice(ORDERS_PER_SHOW, 2 * ORDERS_PER_SHOW);
    const failingAnswers = answers.slice(2 * ORDERS_PER_SHOW);

    // One attempt per key, whichever of the three copies got there first.
    for (const copies of [...lateAnswers, ...inTimeAnswers]) {
      for (const copy of copies) expect(copy.status).toBe(200);
      expect(new Set(copies.map((c) => (c.body.payment as { attemptId: string }).attemptId)).size).toBe(1);
    }
    for (const copies of inTimeAnswers)
      for (const copy of copies) expect(copy.body.order).toMatchObject({ status: 'confirmed' });
    // The gateway failing before charging: 503 with Retry-After, every time, and the order still payable.
    for (const copies of failingAnswers)
      for (const copy of copies) {
        expect(copy.status).toBe(503);
        expect(copy.headers.get('retry-after')).toBeTruthy();
      }

    // Payments that came back after their hold had ended are refunded and the seats go back.
    const orderOf = async (order: { customer: Record<string, string>; orderId: string }) =>
      (await send('GET', `/orders/${order.orderId}`, order.customer)).body;
    await waitFor(
      'late payments to be refunded',
      async () =>
        (await Promise.all(late.map(orderOf))).every((o) => o.status === 'cancelled' && o.refunded === true),
      30_000,
    );
    for (const order of failing) expect(await orderOf(order)).toMatchObject({ status: 'reserved' });

    const { rows: charges } = await database.pool.query<{
      idempotency_key: string;
      status: string;
      refunded: boolean;
    }>(
      `SELECT c.idempotency_key, c.status,
              EXISTS (SELECT 1 FROM gateway_refunds r WHERE r.charge_id = c.charge_id) AS refunded
       FROM gateway_charges c`,
    );
    const chargeOf = new Map(charges.map((c) => [c.idempotency_key, c]));
    // One charge per paid order, never a second; late ones refunded, in-time ones kept; none for errors.
    expect(charges).toHaveLength(2 * ORDERS_PER_SHOW);
    for (const order of late)
      expect(chargeOf.get(attemptIdFor(order.orderId, order.payKey))).toMatchObject({
        status: 'succeeded',
        refunded: true,
      });
    for (const order of inTime)
      expect(chargeOf.get(attemptIdFor(order.orderId, order.payKey))).toMatchObject({
        status: 'succeeded',
        refunded: false,
      });
    for (const order of failing) expect(chargeOf.has(attemptIdFor(order.orderId, order.payKey))).toBe(false);

    // Seats: the late orders' are back; the confirmed and the still-reserved ones are taken.
    const figures = async (showId: string) =>
      (
        (await send('GET', `/shows/${showId}/availability`, {})).body.ticketTypes as {
          available: number;
          reserved: number;
          sold: number;
        }[]
      )[0];
    await waitFor(
      'the short-hold seats to be back',
      async () => (await figures(shortHolds.showId))?.available === 40,
    );
    await waitFor('the long-hold figures', async () => {
      const now = await figures(longHolds.showId);
      return now?.sold === 40 && now.reserved === 40 && now.available === 20;
    });
    const report = await send('GET', '/admin/audit', admin);
    expect(report.body).toMatchObject({ ok: true, violations: [] });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = undefined;
  }, 120_000);
});
