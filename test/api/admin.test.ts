import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CustomerAccounts } from '../../src/accounts/customerAccounts.js';
import type { ShowBody } from '../../src/api/schemas/show.js';
import { MemoryAvailabilityCache } from '../../src/projections/availabilityCache/memoryAvailabilityCache.js';
import { apiClient } from '../support/apiClient.js';
import { buildTestApi, expectProblemShape as expectProblem } from '../support/apiHarness.js';
import { ADMIN, useApiStack } from '../support/apiStack.js';
import { purchaseHarness } from '../support/purchaseHarness.js';
import { postgresSubject } from '../support/stores.js';
import { waitFor } from '../support/waitFor.js';

describe('HTTP API: admin', () => {
  const f = useApiStack();

  const schedule = (payload: Record<string, unknown>) =>
    f.stack.api.inject({
      method: 'POST',
      url: '/admin/shows',
      headers: f.client.bearer(f.adminToken),
      payload,
    });
  const valid = {
    name: 'Night Show',
    venue: 'Hall 1',
    startsAt: '2027-03-01T20:00:00+01:00',
    currency: 'EUR',
    ticketTypes: [
      { name: 'Floor', priceCents: 8900, capacity: 1000 },
      { name: 'Balcony', priceCents: 5900, capacity: 200, maxPerCustomer: 4 },
    ],
  };

  it('schedules a show with defaults, which the catalog then lists', async () => {
    const before = Date.now();
    const response = await schedule(valid);
    expect(response.statusCode).toBe(201);
    const show = response.json() as ShowBody;
    expect(show).toMatchObject({
      name: 'Night Show',
      venue: 'Hall 1',
      startsAt: '2027-03-01T19:00:00.000Z',
      salesClosed: false,
      currency: 'EUR',
      holdSeconds: 600,
      ticketTypes: [
        { name: 'Floor', priceCents: 8900, capacity: 1000, maxPerCustomer: 10 },
        { name: 'Balcony', priceCents: 5900, capacity: 200, maxPerCustomer: 4 },
      ],
    });
    expect(Date.parse(show.salesOpenAt)).toBeGreaterThanOrEqual(before - 1000);
    await waitFor('the catalog to show it', async () => {
      const read = await f.stack.api.inject({ method: 'GET', url: `/shows/${show.showId}` });
      return read.statusCode === 200;
    });
    expect((await f.stack.api.inject({ method: 'GET', url: `/shows/${show.showId}` })).json()).toEqual(show);
  });

  it('refuses a bad schedule with 400 naming the field, and schedules nothing', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['body.ticketTypes', { ...valid, ticketTypes: [] }],
      ['body.holdSeconds', { ...valid, holdSeconds: 0 }],
      ['body.holdSeconds', { ...valid, holdSeconds: 86_401 }],
      ['body.ticketTypes.0.capacity', { ...valid, ticketTypes: [{ name: 'A', priceCents: 1, capacity: 0 }] }],
      [
        'body.ticketTypes.0.capacity',
        { ...valid, ticketTypes: [{ name: 'A', priceCents: 1, capacity: 1_000_001 }] },
      ],
      ['body.currency', { ...valid, currency: 'euro' }],
      ['body.startsAt', { ...valid, startsAt: 'tomorrow' }],
      ['body.name', { ...valid, name: undefined }],
      [
        'body.ticketTypes',
        {
          ...valid,
          ticketTypes: Array.from({ length: 51 }, (_, i) => ({ name: `T${i}`, priceCents: 1, capacity: 1 })),
        },
      ],
    ];
    const { rows: before } = await f.stack.pool.query('SELECT count(*)::int AS n FROM es_events');
    for (const [path, payload] of cases) {
      const problem = expectProblem(await schedule(payload), 400, 'validation_failed') as {
        errors?: { path: string }[];
      };
      expect(problem.errors?.map((e) => e.path)).toContain(path);
    }
    // Refused by the show's own rules, where no single field is to blame.
    for (const payload of [
      { ...valid, startsAt: '9999-12-31T23:59:59-23:59' },
      { ...valid, startsAt: '0000-01-01T00:30:00+01:00' },
      { ...valid, salesOpenAt: '2027-03-02T00:00:00Z' },
      { ...valid, venue: 'Hall\u00001' },
    ])
      expectProblem(await schedule(payload), 400, 'validation_failed');
    const { rows: after } = await f.stack.pool.query('SELECT count(*)::int AS n FROM es_events');
    expect(after[0].n).toBe(before[0].n);
  });

  it('closes and opens sales, and 404s for a show it does not know', async () => {
    const show = (await schedule(valid)).json() as ShowBody;
    const close = await f.stack.api.inject({
      method: 'POST',
      url: `/admin/shows/${show.showId}/sales/close`,
      headers: f.client.bearer(f.adminToken),
    });
    expect(close.statusCode).toBe(200);
    expect(close.json()).toMatchObject({ showId: show.showId, salesClosed: true });
    await waitFor('the catalog to show sales closed', async () => {
      const read = await f.stack.api.inject({ method: 'GET', url: `/shows/${show.showId}` });
      return (read.json() as ShowBody).salesClosed === true;
    });
    const open = await f.stack.api.inject({
      method: 'POST',
      url: `/admin/shows/${show.showId}/sales/open`,
      headers: f.client.bearer(f.adminToken),
    });
    expect(open.json()).toMatchObject({ salesClosed: false });
    expectProblem(
      await f.stack.api.inject({
        method: 'POST',
        url: `/admin/shows/${randomUUID()}/sales/close`,
        headers: f.client.bearer(f.adminToken),
      }),
      404,
      'not_found',
    );
    expectProblem(
      await f.stack.api.inject({
        method: 'POST',
        url: '/admin/shows/not-a-uuid/sales/open',
        headers: f.client.bearer(f.adminToken),
      }),
      400,
      'validation_failed',
    );
  });

  it('audits a clean log as ok, with the events it checked', async () => {
    const show = (await schedule(valid)).json() as ShowBody;
    const buyer = await f.client.register();
    const placed = await f.client.placeOrder(buyer.token, randomUUID(), {
      showId: show.showId,
      lines: [{ ticketTypeId: show.ticketTypes[0]!.ticketTypeId, quantity: 2 }],
    });
    expect(placed.statusCode).toBe(201);
    const response = await f.stack.api.inject({
      method: 'GET',
      url: '/admin/audit',
      headers: f.client.bearer(f.adminToken),
    });
    expect(response.statusCode).toBe(200);
    const report = response.json() as { ok: boolean; checkedEvents: number; violations: unknown[] };
    expect(report).toMatchObject({ ok: true, violations: [] });
    expect(report.checkedEvents).toBeGreaterThan(5);
  });

  it('reports a log that breaks an invariant', async () => {
    // Its own database and no projections: the broken log troubles nobody else.
    const subject = await postgresSubject();
    const h = purchaseHarness(subject);
    const pool = subject.database!.pool;
    await new CustomerAccounts(pool).ensureAdmin(ADMIN.email, ADMIN.password);
    const api = await buildTestApi({
      pool,
      store: subject.store,
      cache: new MemoryAvailabilityCache(),
      purchase: h.ctx,
    });
    try {
      const token = await apiClient(api).adminToken();
      await subject.store.appendToStream(`inventory-${randomUUID()}`, [
        {
          type: 'SeatsReserved',
          data: {
            reservationId: randomUUID(),
            customerId: randomUUID(),
            quantity: 1,
            reservedAt: new Date().toISOString(),
            expiresAt: new Date().toISOString(),
          },
        },
      ]);
      const response = await api.inject({
        method: 'GET',
        url: '/admin/audit',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        ok: false,
        violations: [expect.objectContaining({ kind: 'illegal_transition' })],
      });
    } finally {
      await api.close();
      await h.close();
      await subject.teardown();
    }
  });
});
