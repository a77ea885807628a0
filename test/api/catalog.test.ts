import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../src/api/app.js';
import { availabilityCacheProjection } from '../../src/projections/availabilityCache/availabilityCacheProjection.js';
import { MemoryAvailabilityCache } from '../../src/projections/availabilityCache/memoryAvailabilityCache.js';
import { RedisAvailabilityCache } from '../../src/projections/availabilityCache/redisAvailabilityCache.js';
import { readModelProjection } from '../../src/projections/readModels/readModelProjection.js';
import { buildTestApi, expectProblemShape as expectProblem } from '../support/apiHarness.js';
import { replayAll } from '../support/replay.js';
import { useWorkloadFixture } from '../support/workloadFixture.js';

describe('HTTP API: catalog, availability, health, errors', () => {
  const fixture = useWorkloadFixture();
  const { pool } = fixture;
  let api: Api;
  beforeAll(async () => {
    const cache = new MemoryAvailabilityCache();
    await replayAll(pool(), fixture.subject.store, readModelProjection());
    await replayAll(pool(), fixture.subject.store, availabilityCacheProjection(cache));
    api = await buildTestApi({ pool: pool(), store: fixture.subject.store, cache, purchase: fixture.h.ctx });
  });
  afterAll(async () => api?.close());

  it('lists shows page by page with an opaque cursor', async () => {
    const first = await api.inject({ method: 'GET', url: '/shows?limit=1' });
    expect(first.statusCode).toBe(200);
    const page1 = first.json() as { items: { showId: string }[]; nextCursor: string };
    expect(page1.items).toHaveLength(1);
    const second = await api.inject({ method: 'GET', url: `/shows?limit=1&cursor=${page1.nextCursor}` });
    const page2 = second.json() as { items: { showId: string }[]; nextCursor: string | null };
    expect(new Set([...page1.items, ...page2.items].map((s) => s.showId))).toEqual(
      new Set(fixture.workload.showIds),
    );
    expect(page2.nextCursor).toBeNull();
  });

  it('refuses a bad limit or cursor with a 400 validation_failed naming the field', async () => {
    const badLimit = expectProblem(
      await api.inject({ method: 'GET', url: '/shows?limit=0' }),
      400,
      'validation_failed',
    ) as {
      errors?: { path: string }[];
    };
    expect(badLimit.errors?.[0]?.path).toBe('querystring.limit');
    expectProblem(
      await api.inject({ method: 'GET', url: '/shows?cursor=not-a-cursor' }),
      400,
      'validation_failed',
    );
  });

  it('shows a show with its ticket types, and 404s for one it does not know', async () => {
    const showId = fixture.workload.showIds[0]!;
    const response = await api.inject({ method: 'GET', url: `/shows/${showId}` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      showId,
      currency: 'EUR',
      holdSeconds: 60,
      ticketTypes: [{ priceCents: 4500 }, { priceCents: 2500 }],
    });
    expectProblem(await api.inject({ method: 'GET', url: `/shows/${randomUUID()}` }), 404, 'not_found');
    expectProblem(await api.inject({ method: 'GET', url: '/shows/not-a-uuid' }), 400, 'validation_failed');
  });

  it('answers availability with figures that add up to capacity', async () => {
    const showId = fixture.workload.showIds[0]!;
    const response = await api.inject({ method: 'GET', url: `/shows/${showId}/availability` });
    expect(response.statusCode).toBe(200);
    const body = response.json() as {
      ticketTypes: {
        ticketTypeId: string;
        capacity: number;
        available: number;
        reserved: number;
        sold: number;
      }[];
    };
    expect(body.ticketTypes).toHaveLength(2);
    for (const t of body.ticketTypes) {
      expect(t.available + t.reserved + t.sold).toBe(t.capacity);
      const { available, reserved, sold } = t;
      expect({ available, reserved, sold }).toEqual(await fixture.h.figures(t.ticketTypeId));
    }
    expectProblem(
      await api.inject({ method: 'GET', url: `/shows/${randomUUID()}/availability` }),
      404,
      'not_found',
    );
  });

  it('answers availability from PostgreSQL when Redis cannot be reached', async () => {
    const unreachable = new RedisAvailabilityCache('redis://127.0.0.1:1');
    const degraded = await buildTestApi({
      pool: pool(),
      store: fixture.subject.store,
      cache: unreachable,
      cacheIsShared: true,
      purchase: fixture.h.ctx,
    });
    const showId = fixture.workload.showIds[0]!;
    const response = await degraded.inject({ method: 'GET', url: `/shows/${showId}/availability` });
    expect(response.statusCode).toBe(200);
    const ready = await degraded.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'degraded',
      checks: { eventStore: 'ok', postgres: 'ok', redis: 'down' },
    });
    await degraded.close();
    await unreachable.close();
  });

  it('reports liveness and readiness', async () => {
    expect((await api.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'ok' });
    const ready = await api.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ok',
      checks: { eventStore: 'ok', postgres: 'ok', redis: 'not_configured' },
    });
  });

  it('answers unknown routes with a 404 problem', async () => {
    expectProblem(await api.inject({ method: 'GET', url: '/nowhere' }), 404, 'not_found');
  });

  it('serves an OpenAPI document with exactly the routes of the contract (and #9), and Swagger UI', async () => {
    const response = await api.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const document = response.json() as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toMatch(/^3\./);
    const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'POST /auth/register',
        'POST /auth/login',
        'GET /shows',
        'GET /shows/{showId}',
        'GET /shows/{showId}/availability',
        'GET /shows/{showId}/availability/stream',
        'POST /admin/shows',
        'POST /admin/shows/{showId}/sales/close',
        'POST /admin/shows/{showId}/sales/open',
        'GET /admin/audit',
        'POST /orders',
        'GET /orders',
        'GET /orders/{orderId}',
        'POST /orders/{orderId}/payment',
        'POST /orders/{orderId}/cancel',
        // #9 adds the customers' notifications and the admins' webhooks to the contract.
        'GET /me/notifications',
        'POST /admin/webhooks',
        'GET /admin/webhooks',
        'DELETE /admin/webhooks/{webhookId}',
        'GET /admin/webhooks/{webhookId}/deliveries',
        'GET /health/live',
        'GET /health/ready',
        'GET /metrics',
      ].sort(),
    );
    const ui = await api.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
  });
});
