import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callJson, type JsonAnswer, type Run, startFlashtix } from '../support/flashtixProcess.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';
import { waitFor } from '../support/waitFor.js';

const JWT_SECRET = `outage-${randomUUID()}-${randomUUID()}`;

type Answer = JsonAnswer | 'timed out';

describe('PostgreSQL unavailable', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let dataDir: string;
  let server: Run | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    const url = new URL(database.url);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    dataDir = await mkdtemp(path.join(tmpdir(), 'flashtix-outage-'));
  });
  afterAll(async () => {
    server?.child.kill('SIGKILL');
    await proxy.close();
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After and writes nothing while it is away, then recovers by itself', async () => {
    const url = new URL(database.url);
    url.port = String(proxy.port);
    let origin: string;
    ({ server, origin } = await startFlashtix({
      DATA_DIR: dataDir,
      DATABASE_URL: url.toString(),
      JWT_SECRET,
    }));
    const send = (method: string, route: string, headers: Record<string, string> = {}, body?: unknown) =>
      callJson(origin, method, route, { headers, body }).catch((): Answer => 'timed out');
    const sign = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 3_600_000 });
    const admin = { authorization: `Bearer ${sign({ sub: randomUUID(), role: 'admin' })}` };
    const buyer = { authorization: `Bearer ${sign({ sub: randomUUID(), role: 'customer' })}` };
    const created = await send('POST', '/admin/shows', admin, {
      name: 'Blackout',
      venue: 'Hall',
      startsAt: '2031-01-01T20:00:00Z',
      currency: 'EUR',
      ticketTypes: [{ name: 'Floor', priceCents: 100, capacity: 100 }],
    });
    if (created === 'timed out' || created.status !== 201) throw new Error('no show');
    const showId = created.body.showId as string;
    const ticketTypeId = (created.body.ticketTypes as { ticketTypeId: string }[])[0]!.ticketTypeId;
    const line = { showId, lines: [{ ticketTypeId, quantity: 1 }] };
    const before = await send('POST', '/orders', { ...buyer, 'idempotency-key': randomUUID() }, line);
    if (before === 'timed out' || before.status !== 201) throw new Error('no order');
    const orderId = before.body.orderId as string;
    await waitFor('the show to be projected', async () => {
      const a = await send('GET', `/shows/${showId}/availability`);
      return a !== 'timed out' && a.status === 200;
    });
    const eventCount = async () =>
      (await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM es_events')).rows[0]!.n;
    const eventsBefore = await eventCount();

    proxy.cut();
    // Writes, reads that need PostgreSQL, reads that do not, and the health checks, several rounds.
    const keys = { order: randomUUID(), payment: randomUUID() };
    const duringOutage: { call: string; answer: Answer }[] = [];
    for (let round = 0; round < 3; round++) {
      const calls: [string, Promise<Answer>][] = [
        ['place order', send('POST', '/orders', { ...buyer, 'idempotency-key': keys.order }, line)],
        [
          'pay',
          send(
            'POST',
            `/orders/${orderId}/payment`,
            { ...buyer, 'idempotency-key': keys.payment },
            {
              paymentToken: 'tok_visa',
            },
          ),
        ],
        ['cancel', send('POST', `/orders/${orderId}/cancel`, buyer)],
        ['read order', send('GET', `/orders/${orderId}`, buyer)],
        ['list orders', send('GET', '/orders', buyer)],
        ['list shows', send('GET', '/shows')],
        ['read show', send('GET', `/shows/${showId}`)],
        ['availability', send('GET', `/shows/${showId}/availability`)],
        [
          'log in',
          send('POST', '/auth/login', {}, { email: 'nobody@example.com', password: 'whatever-it-is' }),
        ],
        [
          'schedule show',
          send('POST', '/admin/shows', admin, {
            name: 'Rescheduled',
            venue: 'Hall',
            startsAt: '2031-02-01T20:00:00Z',
            currency: 'EUR',
            ticketTypes: [{ name: 'Floor', priceCents: 100, capacity: 5 }],
          }),
        ],
        ['ready', send('GET', '/health/ready')],
        ['live', send('GET', '/health/live')],
      ];
      for (const [call, answer] of calls) duringOutage.push({ call, answer: await answer });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const summary = duringOutage.map(
      ({ call, answer }) => `${call}: ${answer === 'timed out' ? answer : answer.status}`,
    );
    for (const { call, answer } of duringOutage) {
      expect(answer, call).not.toBe('timed out');
      if (answer === 'timed out') continue;
      expect(answer.status, `${call} (${summary.join(', ')})`).not.toBe(500);
      if (answer.status >= 500) {
        expect(answer.status, call).toBe(503);
        expect(answer.headers.get('retry-after'), call).toBeTruthy();
        // Readiness answers with its checks; every other 503 is a problem document.
        if (call === 'ready')
          expect(answer.body).toMatchObject({ status: 'down', checks: { postgres: 'down' } });
        else {
          expect(answer.headers.get('content-type'), call).toMatch(/^application\/problem\+json/);
          expect(answer.body.code, call).toBe('unavailable');
        }
      }
    }
    const statusOf = (call: string) =>
      duringOutage
        .filter((d) => d.call === call)
        .map((d) => (d.answer === 'timed out' ? 0 : d.answer.status));
    // What needs PostgreSQL is unavailable; liveness is not a dependency check.
    for (const call of [
      'place order',
      'pay',
      'cancel',
      'read order',
      'list orders',
      'schedule show',
      'ready',
    ])
      expect(statusOf(call), call).toEqual([503, 503, 503]);
    expect(statusOf('live')).toEqual([200, 200, 200]);

    proxy.restore();
    // Nothing was written while PostgreSQL was away.
    expect(await eventCount()).toBe(eventsBefore);
    // It comes back by itself, and the same keys now go through.
    await waitFor('readiness', async () => {
      const ready = await send('GET', '/health/ready');
      return ready !== 'timed out' && ready.status === 200;
    });
    const placed = await send('POST', '/orders', { ...buyer, 'idempotency-key': keys.order }, line);
    expect(placed !== 'timed out' && placed.status).toBe(201);
    const paid = await send(
      'POST',
      `/orders/${orderId}/payment`,
      { ...buyer, 'idempotency-key': keys.payment },
      {
        paymentToken: 'tok_visa',
      },
    );
    expect(paid !== 'timed out' && paid.body.order).toMatchObject({ status: 'confirmed' });
    // The projections and the process side carry on: the figures follow, the audit is clean.
    await waitFor('availability to show the new figures', async () => {
      const a = await send('GET', `/shows/${showId}/availability`);
      const figures =
        a === 'timed out' ? undefined : (a.body.ticketTypes as { reserved: number; sold: number }[]);
      return figures?.[0]?.reserved === 1 && figures[0].sold === 1;
    });
    // Cut again in the middle of a burst of purchases: each lands whole or is refused with 503.
    const burst = Array.from({ length: 40 }, () => ({
      customer: { authorization: `Bearer ${sign({ sub: randomUUID(), role: 'customer' })}` },
      key: randomUUID(),
    }));
    const placeFor = (b: (typeof burst)[number]) =>
      send('POST', '/orders', { ...b.customer, 'idempotency-key': b.key }, line);
    const pending = burst.map(placeFor);
    // The cut comes as the first of them lands, with the others on their way.
    await Promise.any(
      pending.map((p) => p.then((a) => (a !== 'timed out' && a.status === 201 ? a : Promise.reject(a)))),
    );
    proxy.cut();
    const burstAnswers = await Promise.all(pending);
    const burstStatuses = burstAnswers.map((a) => (a === 'timed out' ? 0 : a.status));
    expect(
      burstStatuses.every((status) => status === 201 || status === 503),
      burstStatuses.join(),
    ).toBe(true);
    proxy.restore();
    await waitFor('readiness after the second cut', async () => {
      const ready = await send('GET', '/health/ready');
      return ready !== 'timed out' && ready.status === 200;
    });
    const landed = burstAnswers.flatMap((a) =>
      a !== 'timed out' && a.status === 201 ? [a.body.orderId] : [],
    );
    const { rows: recorded } = await database.pool.query<{ stream_id: string }>(
      'SELECT stream_id FROM es_streams WHERE stream_id = ANY($1)',
      [landed.map((id) => `order-${id as string}`)],
    );
    expect(recorded).toHaveLength(landed.length);
    // The refused ones go through with the same keys now.
    for (const [i, b] of burst.entries()) {
      if (burstStatuses[i] !== 503) continue;
      const retried = await placeFor(b);
      expect(retried !== 'timed out' && retried.status).toBe(201);
    }
    console.log(
      `cut mid-burst: ${landed.length} of ${burst.length} placed, the rest 503 and placed on retry`,
    );

    // The process side carries on too: a hold taken now, on a show with one-second holds, expires.
    const brief = await send('POST', '/admin/shows', admin, {
      name: 'Brief Holds',
      venue: 'Hall',
      startsAt: '2031-03-01T20:00:00Z',
      currency: 'EUR',
      holdSeconds: 1,
      ticketTypes: [{ name: 'Floor', priceCents: 100, capacity: 5 }],
    });
    if (brief === 'timed out' || brief.status !== 201) throw new Error('no show');
    const briefLine = {
      showId: brief.body.showId,
      lines: [
        {
          ticketTypeId: (brief.body.ticketTypes as { ticketTypeId: string }[])[0]!.ticketTypeId,
          quantity: 1,
        },
      ],
    };
    const held = await send('POST', '/orders', { ...buyer, 'idempotency-key': randomUUID() }, briefLine);
    if (held === 'timed out' || held.status !== 201) throw new Error('no hold');
    await waitFor('the hold to expire', async () => {
      const order = await send('GET', `/orders/${held.body.orderId as string}`, buyer);
      return order !== 'timed out' && order.body.status === 'cancelled';
    });

    const report = await send('GET', '/admin/audit', admin);
    expect(report !== 'timed out' && report.body).toMatchObject({ ok: true, violations: [] });

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = undefined;
    console.log(`during the outage: ${summary.join(', ')}`);
  }, 120_000);
});
