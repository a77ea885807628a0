import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptIdFor } from '../../src/commands/payOrder.js';
import { PostgresEventStore } from '../../src/eventstore/postgres/postgresEventStore.js';
import { callJson, type JsonAnswer, startFlashtix } from '../support/flashtixProcess.js';
import { expectSeatsAccountedFor, orderStateOf, waitForOrdersToEnd } from '../support/saleOutcome.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';

const JWT_SECRET = `kill-test-${randomUUID()}-${randomUUID()}`;
const CAPACITY = 150;
const BUYERS = 240;
const IN_FLIGHT = 24;
/** SIGKILL once this many orders have been answered 201. */
const KILL_AFTER_HOLDS = 50;

type Answer = JsonAnswer | 'lost';
type Call = { method: 'POST' | 'GET'; route: string; body?: unknown; headers: Record<string, string> };

/** What one buyer means to do, and what they were told; a lost call is sent again, same key, later. */
type Buyer = {
  token: string;
  orderKey: string;
  quantity: number;
  plan: 'pay' | 'decline' | 'walk away';
  payKey: string;
  orderId?: string;
  order?: Answer;
  payment?: Answer;
};

describe('a server killed mid-sale', () => {
  let database: TestDatabase;
  let dataDir: string;
  let store: PostgresEventStore;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'flashtix-kill-'));
  });
  afterAll(async () => {
    await store?.close();
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const start = () =>
    startFlashtix({
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      JWT_SECRET,
      // Payments take a while, so that some are at the gateway when the process dies.
      PAYMENT_GATEWAY_LATENCY_MS: '40',
      PAYMENT_SETTLE_MS: '1000',
      HOLD_EXPIRY_INTERVAL_MS: '100',
      HOLD_EXPIRY_GRACE_MS: '0',
    });

  it('loses no 201, no seat and no payment, and charges nobody twice', async () => {
    const sign = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 3_600_000 });
    let { server, origin } = await start();
    const send = ({ method, route, body, headers }: Call): Promise<Answer> =>
      callJson(origin, method, route, { headers, body }).catch(() => 'lost' as const);

    const admin = { authorization: `Bearer ${sign({ sub: randomUUID(), role: 'admin' })}` };
    const created = await send({
      method: 'POST',
      route: '/admin/shows',
      headers: admin,
      body: {
        name: 'Power Cut',
        venue: 'Hall',
        startsAt: '2031-01-01T20:00:00Z',
        currency: 'EUR',
        // Short holds: those nobody pays for come back within seconds.
        holdSeconds: 2,
        ticketTypes: [{ name: 'Floor', priceCents: 100, capacity: CAPACITY, maxPerCustomer: 2 }],
      },
    });
    if (created === 'lost' || created.status !== 201) throw new Error(`show: ${JSON.stringify(created)}`);
    const showId = created.body.showId as string;
    const ticketTypeId = (created.body.ticketTypes as { ticketTypeId: string }[])[0]!.ticketTypeId;

    const buyers: Buyer[] = Array.from({ length: BUYERS }, (_, i) => ({
      token: sign({ sub: randomUUID(), role: 'customer' }),
      orderKey: randomUUID(),
      quantity: 1 + (i % 2),
      plan: i % 10 < 7 ? 'pay' : i % 10 === 7 ? 'decline' : 'walk away',
      payKey: randomUUID(),
    }));
    const placeCall = (b: Buyer): Call => ({
      method: 'POST',
      route: '/orders',
      headers: { authorization: `Bearer ${b.token}`, 'idempotency-key': b.orderKey },
      body: { showId, lines: [{ ticketTypeId, quantity: b.quantity }] },
    });
    const payCall = (b: Buyer): Call => ({
      method: 'POST',
      route: `/orders/${b.orderId}/payment`,
      headers: { authorization: `Bearer ${b.token}`, 'idempotency-key': b.payKey },
      body: { paymentToken: b.plan === 'decline' ? 'tok_decline' : 'tok_visa' },
    });
    const created201: string[] = [];
    const journey = async (b: Buyer) => {
      if (b.order === undefined || b.order === 'lost') b.order = await send(placeCall(b));
      if (b.order === 'lost' || (b.order.status !== 201 && b.order.status !== 200)) return;
      b.orderId = b.order.body.orderId as string;
      if (b.order.status === 201) created201.push(b.orderId);
      if (b.plan === 'walk away') return;
      if (b.payment === undefined || b.payment === 'lost') b.payment = await send(payCall(b));
    };

    // The sale, and the kill in the middle of it.
    let next = 0;
    let killed = false;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < buyers.length) {
          await journey(buyers[next++]!);
          if (!killed && created201.length >= KILL_AFTER_HOLDS) {
            killed = true;
            server.child.kill('SIGKILL');
          }
        }
      }),
    );
    expect(killed).toBe(true);
    await server.exited;
    const lostOrders = buyers.filter((b) => b.order === 'lost').length;
    const lostPayments = buyers.filter((b) => b.payment === 'lost').length;
    expect(lostOrders).toBeGreaterThan(0);

    // Back up: every buyer who heard nothing asks again with the same keys, as clients should.
    ({ server, origin } = await start());
    for (let round = 0; round < 3; round++) {
      const unsure = buyers.filter((b) => b.order === 'lost' || b.payment === 'lost');
      await Promise.all(unsure.map(journey));
    }
    expect(buyers.filter((b) => b.order === 'lost' || b.payment === 'lost')).toEqual([]);

    store = new PostgresEventStore({ pool: database.pool });
    const orderIds = [...new Set(buyers.flatMap((b) => (b.orderId ? [b.orderId] : [])))];
    const orderState = (orderId: string) => orderStateOf(store, orderId);
    // Holds nobody paid for expire; payments lost at the gateway are settled from its books.
    await waitForOrdersToEnd(store, orderIds);

    // Every 201 a client saw is in the log.
    for (const orderId of created201) expect((await orderState(orderId)).status).not.toBe('none');

    // No seat lost or sold twice.
    const { sold, states } = await expectSeatsAccountedFor(store, ticketTypeId, CAPACITY, orderIds);
    expect(sold).toBeGreaterThan(0);

    // Money: per order at most one charge that was kept; a confirmed order has exactly one, any
    // other order none (a late or stray charge was refunded).
    const { rows: charges } = await database.pool.query<{ idempotency_key: string; refunded: boolean }>(
      `SELECT c.idempotency_key, EXISTS (SELECT 1 FROM gateway_refunds r WHERE r.charge_id = c.charge_id) AS refunded
       FROM gateway_charges c WHERE c.status = 'succeeded'`,
    );
    const kept = new Map(charges.map((c) => [c.idempotency_key, !c.refunded]));
    for (const [i, orderId] of orderIds.entries()) {
      const buyer = buyers.find((b) => b.orderId === orderId)!;
      const keptCharges = kept.get(attemptIdFor(orderId, buyer.payKey)) ? 1 : 0;
      expect(keptCharges, `order ${orderId}`).toBe(states[i]!.status === 'confirmed' ? 1 : 0);
    }
    expect(charges.length).toBeGreaterThan(0);

    // The audit replays the whole log and agrees.
    const report = await send({ method: 'GET', route: '/admin/audit', headers: admin });
    expect(report !== 'lost' && report.status).toBe(200);
    expect(report !== 'lost' && report.body).toMatchObject({ ok: true, violations: [] });

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    console.log(
      `killed after ${KILL_AFTER_HOLDS} holds; unanswered then: ${lostOrders} orders, ${lostPayments} payments; ` +
        `${orderIds.length} orders, ${sold} seats sold, ${charges.length} charges`,
    );
  }, 120_000);
});
