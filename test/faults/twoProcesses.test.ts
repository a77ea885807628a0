import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderStreamName } from '../../src/domain/order/decider.js';
import { PostgresEventStore } from '../../src/eventstore/postgres/postgresEventStore.js';
import { callJson, startFlashtix } from '../support/flashtixProcess.js';
import { expectSeatsAccountedFor, waitForOrdersToEnd } from '../support/saleOutcome.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';
import { waitFor } from '../support/waitFor.js';

const JWT_SECRET = `two-processes-${randomUUID()}-${randomUUID()}`;
const CAPACITY = 200;
const BUYERS = 400;
const IN_FLIGHT = 32;

describe('two processes on the same stores', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  const dataDirs: string[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    store = new PostgresEventStore({ pool: database.pool });
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
    for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'flashtix-two-'));
    dataDirs.push(dataDir);
    return startFlashtix({
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      JWT_SECRET,
      PAYMENT_GATEWAY_LATENCY_MS: '10',
      HOLD_EXPIRY_INTERVAL_MS: '100',
      HOLD_EXPIRY_GRACE_MS: '0',
    });
  };

  /** Single-instance parts (projections, process manager, hold expiry) hold an advisory lock each. */
  const advisoryLocksHeld = async () => {
    const { rows } = await database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks
       WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return rows[0]!.n;
  };

  it('sell each seat once, handle each order once, and run each projection in one of them at a time', async () => {
    const sign = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 3_600_000 });
    const a = await start();
    await waitFor(
      'the first process to take its single-instance parts',
      async () => (await advisoryLocksHeld()) > 0,
    );
    const locksOfOne = await advisoryLocksHeld();
    const b = await start();
    // The second stands by: no part runs twice.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await advisoryLocksHeld()).toBe(locksOfOne);

    const send = (
      origin: string,
      method: string,
      route: string,
      headers: Record<string, string>,
      body?: unknown,
    ) => callJson(origin, method, route, { headers, body });
    const admin = { authorization: `Bearer ${sign({ sub: randomUUID(), role: 'admin' })}` };
    const created = await send(a.origin, 'POST', '/admin/shows', admin, {
      name: 'Twin Night',
      venue: 'Hall',
      startsAt: '2031-01-01T20:00:00Z',
      currency: 'EUR',
      holdSeconds: 2,
      ticketTypes: [{ name: 'Floor', priceCents: 100, capacity: CAPACITY, maxPerCustomer: 2 }],
    });
    expect(created.status).toBe(201);
    const showId = created.body.showId as string;
    const ticketTypeId = (created.body.ticketTypes as { ticketTypeId: string }[])[0]!.ticketTypeId;

    // Buyers alternate between the two APIs, and pay through the other one.
    const statuses = new Map<number, number>();
    const placed: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < BUYERS) {
          const i = next++;
          const [here, there] = i % 2 === 0 ? [a, b] : [b, a];
          const customer = { authorization: `Bearer ${sign({ sub: randomUUID(), role: 'customer' })}` };
          const order = await send(
            here.origin,
            'POST',
            '/orders',
            { ...customer, 'idempotency-key': randomUUID() },
            { showId, lines: [{ ticketTypeId, quantity: 1 + (i % 2) }] },
          );
          statuses.set(order.status, (statuses.get(order.status) ?? 0) + 1);
          if (order.status !== 201) continue;
          const orderId = order.body.orderId as string;
          placed.push(orderId);
          if (i % 4 === 3) continue; // walks away: the hold expires
          const payment = await send(
            there.origin,
            'POST',
            `/orders/${orderId}/payment`,
            { ...customer, 'idempotency-key': randomUUID() },
            { paymentToken: i % 8 === 1 ? 'tok_decline' : 'tok_visa' },
          );
          statuses.set(payment.status, (statuses.get(payment.status) ?? 0) + 1);
        }
      }),
    );
    // Only 201, 409 (sold out) and 200 (payments) came back: no error from either process.
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([200, 201, 409]));
    expect([...statuses.keys()].every((s) => s === 200 || s === 201 || s === 409)).toBe(true);

    await waitForOrdersToEnd(store, placed);

    // Each order handled once: one ending event per order stream.
    for (const orderId of placed) {
      const { events } = await store.readStream(orderStreamName(orderId));
      const endings = events.filter((e) => e.type === 'OrderConfirmed' || e.type === 'OrderCancelled');
      expect(endings, orderId).toHaveLength(1);
    }
    // Nothing oversold; what is sold is what the confirmed orders bought; nothing still held.
    const inventory = await expectSeatsAccountedFor(store, ticketTypeId, CAPACITY, placed);

    // Both APIs read the same figures once the projections have caught up, and both audits pass.
    for (const { origin } of [a, b]) {
      await waitFor('availability to match the log', async () => {
        const figures = (await send(origin, 'GET', `/shows/${showId}/availability`, {})).body.ticketTypes as {
          available: number;
          reserved: number;
          sold: number;
        }[];
        const [first] = figures;
        return (
          first?.available === inventory.available && first.sold === inventory.sold && first.reserved === 0
        );
      });
      const report = await send(origin, 'GET', '/admin/audit', admin);
      expect(report.body).toMatchObject({ ok: true, violations: [] });
    }

    // The first one stops: the second takes over its parts, and a new purchase is projected.
    a.server.child.kill('SIGTERM');
    expect(await a.server.exited).toBe(0);
    await waitFor('the second process to take over', async () => (await advisoryLocksHeld()) === locksOfOne);
    const show = await send(b.origin, 'POST', '/admin/shows', admin, {
      name: 'After the Switch',
      venue: 'Hall',
      startsAt: '2031-01-02T20:00:00Z',
      currency: 'EUR',
      ticketTypes: [{ name: 'Floor', priceCents: 100, capacity: 3 }],
    });
    await waitFor('the new show to be projected', async () => {
      const response = await send(b.origin, 'GET', `/shows/${show.body.showId as string}/availability`, {});
      return response.status === 200;
    });
    b.server.child.kill('SIGTERM');
    expect(await b.server.exited).toBe(0);
    console.log(
      `answers: ${JSON.stringify(Object.fromEntries(statuses))}; ${placed.length} orders, ${inventory.sold} seats sold`,
    );
  }, 120_000);
});
