import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { Api } from '../../src/api/app.js';
import type { ShowBody } from '../../src/api/schemas/show.js';
import { InventoryWriters } from '../../src/commands/inventoryWriters.js';
import { ShowCatalog } from '../../src/commands/showCatalog.js';
import { EsdbEventStore } from '../../src/eventstore/esdb/esdbEventStore.js';
import { MeteredEventStore } from '../../src/platform/metrics/meteredEventStore.js';
import { Metrics } from '../../src/platform/metrics/metrics.js';
import { createPostgresPool } from '../../src/platform/postgres.js';
import { SimulatedPaymentGateway } from '../../src/process/simulatedPaymentGateway.js';
import { availabilityCacheProjection } from '../../src/projections/availabilityCache/availabilityCacheProjection.js';
import { RedisAvailabilityCache } from '../../src/projections/availabilityCache/redisAvailabilityCache.js';
import { ProjectionRunner } from '../../src/projections/projectionRunner.js';
import { apiClient } from '../support/apiClient.js';
import { expectProblemShape as expectProblem } from '../support/apiHarness.js';
import { useApiStack } from '../support/apiStack.js';
import { startEsdbTestServer } from '../support/esdbTestServer.js';
import { waitFor } from '../support/waitFor.js';

const redisUrl = process.env.REDIS_URL;
if (!redisUrl)
  console.info(
    'REDIS_URL is unset: the tests of rate limits and the availability stream across API processes through Redis are skipped.',
  );
const withRedis = redisUrl ? it : it.skip;

type Figures = { ticketTypes: { ticketTypeId: string; available: number; reserved: number; sold: number }[] };

/** Reads server-sent events from a listening API, one `availability` event at a time. */
const openStream = async (baseUrl: string, showId: string) => {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/shows/${showId}/availability/stream`, {
    signal: controller.signal,
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const events: Figures[] = [];
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^event: availability\ndata: (.*)$/m.exec(block);
          if (data) events.push(JSON.parse(data[1]!) as Figures);
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    response,
    events,
    /** Waits for an event whose first ticket type has this many seats reserved. */
    until: (reserved: number) =>
      waitFor(`a stream event with ${reserved} reserved`, async () =>
        events.some((e) => e.ticketTypes[0]?.reserved === reserved),
      ),
    close: async () => {
      controller.abort();
      await pump;
    },
  };
};

describe('HTTP API: operations', () => {
  const f = useApiStack();

  const lineOf = (show: ShowBody, quantity = 1) => ({
    showId: show.showId,
    lines: [{ ticketTypeId: show.ticketTypes[0]!.ticketTypeId, quantity }],
  });

  it('exposes Prometheus metrics: latency per route, holds, conflicts, writer retries and batches, lag per group', async () => {
    const metrics = new Metrics({ processMetrics: true });
    const metered = new MeteredEventStore(f.stack.subject.secondStore(), metrics);
    const ctx = f.stack.h.otherProcess({
      store: metered,
      catalog: new ShowCatalog(metered),
      writers: new InventoryWriters(metered, {
        onBatch: (commands) => metrics.writerBatchSize.observe(commands),
        onConflict: () => metrics.writerRetries.inc(),
      }),
    });
    const api = await f.stack.otherApi({ purchase: ctx, store: metered, metrics });
    const show = await f.client.createShow(f.adminToken, [{ capacity: 100 }]);
    const buyer = await f.client.register();
    const metered_ = apiClient(api);
    expect((await metered_.placeOrder(buyer.token, randomUUID(), lineOf(show))).statusCode).toBe(201);
    // Another process appends to the same inventory: this process's writer is now behind and
    // its next append conflicts, is caught up and decided again.
    expect((await f.client.placeOrder(buyer.token, randomUUID(), lineOf(show))).statusCode).toBe(201);
    expect((await metered_.placeOrder(buyer.token, randomUUID(), lineOf(show))).statusCode).toBe(201);

    const response = await api.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const text = response.body;
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    expect(value(/^flashtix_holds_total (\d+)/m)).toBe(2);
    expect(value(/^flashtix_events_appended_total\{type="OrderPlaced"\} (\d+)/m)).toBe(2);
    expect(value(/^flashtix_append_conflicts_total\{category="inventory"\} (\d+)/m)).toBeGreaterThanOrEqual(
      1,
    );
    expect(value(/^flashtix_hot_writer_retries_total (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^flashtix_hot_writer_batch_commands_count (\d+)/m)).toBeGreaterThanOrEqual(2);
    expect(
      value(
        /^flashtix_http_request_duration_seconds_count\{method="POST",route="\/orders",status_code="201"\} (\d+)/m,
      ),
    ).toBe(2);
    for (const group of ['read-models', 'availability-cache', 'purchase-process']) {
      expect(text).toMatch(new RegExp(`^flashtix_projection_lag_events\\{group="${group}"\\} \\d+`, 'm'));
      expect(text).toMatch(
        new RegExp(`^flashtix_projection_lag_seconds\\{group="${group}"\\} [\\d.e-]+`, 'm'),
      );
    }
    expect(text).toMatch(/^flashtix_process_cpu_seconds_total/m);
  });

  it('limits requests per client IP with 429 rate_limited and Retry-After, but never health checks', async () => {
    const limited = await f.stack.otherApi({
      rateLimits: { perIp: 3, ordersPerCustomer: 0, authPerIp: 0, streamsPerIp: 0, windowMs: 60_000 },
    });
    for (let i = 0; i < 3; i++)
      expect((await limited.inject({ method: 'GET', url: '/shows' })).statusCode).toBe(200);
    const refused = await limited.inject({ method: 'GET', url: '/shows' });
    expectProblem(refused, 429, 'rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another client is not affected; nor are health checks and scrapes.
    expect(
      (await limited.inject({ method: 'GET', url: '/shows', remoteAddress: '10.0.0.9' })).statusCode,
    ).toBe(200);
    for (const url of ['/health/live', '/health/ready', '/metrics'])
      expect((await limited.inject({ method: 'GET', url })).statusCode).toBe(200);
  });

  it('limits orders per customer, whatever address they come from', async () => {
    const limited = await f.stack.otherApi({
      rateLimits: { perIp: 0, ordersPerCustomer: 2, authPerIp: 0, streamsPerIp: 0, windowMs: 60_000 },
    });
    const show = await f.client.createShow(f.adminToken, [{ capacity: 100 }]);
    const alice = await f.client.register();
    const bob = await f.client.register();
    const order = (token: string, remoteAddress: string) =>
      limited.inject({
        method: 'POST',
        url: '/orders',
        remoteAddress,
        headers: { authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() },
        payload: lineOf(show),
      });
    expect((await order(alice.token, '10.0.0.1')).statusCode).toBe(201);
    expect((await order(alice.token, '10.0.0.2')).statusCode).toBe(201);
    const refused = await order(alice.token, '10.0.0.3');
    expectProblem(refused, 429, 'rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await order(bob.token, '10.0.0.1')).statusCode).toBe(201);
    // Refused before anything was written: only three seats are held.
    await waitFor(
      'three holds',
      async () => (await f.client.availability(show.showId)).ticketTypes?.[0]?.reserved === 3,
    );
  });

  withRedis('shares rate-limit counters between API processes through Redis', async () => {
    const prefix = `flashtix-test-${randomBytes(4).toString('hex')}:`;
    const clients = [new Redis(redisUrl!), new Redis(redisUrl!)];
    try {
      const [a, b] = await Promise.all(
        clients.map((redis) =>
          f.stack.otherApi({
            redis,
            redisPrefix: prefix,
            rateLimits: { perIp: 4, ordersPerCustomer: 0, authPerIp: 0, streamsPerIp: 0, windowMs: 60_000 },
          }),
        ),
      );
      const statuses: number[] = [];
      for (const api of [a!, b!, a!, b!, a!])
        statuses.push(
          (await api.inject({ method: 'GET', url: '/shows', remoteAddress: '10.1.1.1' })).statusCode,
        );
      expect(statuses).toEqual([200, 200, 200, 200, 429]);
    } finally {
      for (const redis of clients) redis.disconnect();
    }
  });

  it('sets security headers, and answers CORS only for the origins configured', async () => {
    const plain = await f.stack.api.inject({ method: 'GET', url: '/shows' });
    expect(plain.headers['x-content-type-options']).toBe('nosniff');
    expect(plain.headers['content-security-policy']).toContain("default-src 'none'");
    expect(plain.headers['strict-transport-security']).toBeDefined();
    expect(plain.headers['access-control-allow-origin']).toBeUndefined();

    const shop = 'https://shop.example';
    const cors = await f.stack.otherApi({ corsOrigins: [shop] });
    const preflight = await cors.inject({
      method: 'OPTIONS',
      url: '/orders',
      headers: {
        origin: shop,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(shop);
    expect(String(preflight.headers['access-control-allow-headers'])).toContain('idempotency-key');
    const elsewhere = await cors.inject({
      method: 'GET',
      url: '/shows',
      headers: { origin: 'https://evil.example' },
    });
    expect(elsewhere.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers 503 unavailable with Retry-After when PostgreSQL is down, never a 500', async () => {
    const deadPool = createPostgresPool('postgresql://postgres@127.0.0.1:1/none', { max: 1 });
    const api = await f.stack.otherApi({ pool: deadPool });
    try {
      for (const url of ['/shows', `/shows/${randomUUID()}`]) {
        const response = await api.inject({ method: 'GET', url });
        expectProblem(response, 503, 'unavailable');
        expect(response.headers['retry-after']).toBeDefined();
      }
      const login = await api.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: 'someone@example.com', password: 'whatever-it-is' },
      });
      expectProblem(login, 503, 'unavailable');
      const ready = await api.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'down', checks: { postgres: 'down' } });
    } finally {
      await deadPool.end();
    }
  });

  it('answers 503 unavailable when EventStoreDB is away, never a 500', async () => {
    const server = await startEsdbTestServer();
    await server.close();
    const away = new EsdbEventStore({ connectionString: server.url });
    try {
      const api = await f.stack.otherApi({ store: away });
      const buyer = await f.client.register();
      const response = await api.inject({
        method: 'GET',
        url: `/orders/${randomUUID()}`,
        headers: f.client.bearer(buyer.token),
      });
      expectProblem(response, 503, 'unavailable');
      expect(response.headers['retry-after']).toBeDefined();
    } finally {
      await away.close();
    }
  }, 60_000);

  it('streams availability as server-sent events: the figures now, then each change', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 10 }]);
    await waitFor(
      'the cache to know the show',
      async () => (await f.client.availability(show.showId)).ticketTypes !== undefined,
    );
    const api = await f.stack.otherApi({});
    const url = await api.listen({ port: 0, host: '127.0.0.1' });
    const stream = await openStream(url, show.showId);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await stream.until(0);
    expect(stream.events[0]).toMatchObject({
      showId: show.showId,
      ticketTypes: [{ available: 10, reserved: 0, sold: 0 }],
    });
    const buyer = await f.client.register();
    await f.client.placeOrder(buyer.token, randomUUID(), lineOf(show, 3));
    await stream.until(3);
    expect(stream.events.at(-1)).toMatchObject({ ticketTypes: [{ available: 7, reserved: 3, sold: 0 }] });
    const missing = await fetch(`${url}/shows/${randomUUID()}/availability/stream`);
    expect(missing.status).toBe(404);
    // Closing the API ends open streams instead of waiting for them forever.
    await api.close();
    await stream.close();
  });

  it('keeps streams in check: CORS applies, a client holds a few at most, each is let go when its client leaves', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 10 }]);
    await waitFor(
      'the cache to know the show',
      async () => (await f.client.availability(show.showId)).ticketTypes !== undefined,
    );
    const metrics = new Metrics();
    const api = await f.stack.otherApi({
      metrics,
      corsOrigins: ['https://shop.example'],
      rateLimits: { perIp: 0, ordersPerCustomer: 0, authPerIp: 0, streamsPerIp: 2, windowMs: 60_000 },
    });
    const url = await api.listen({ port: 0, host: '127.0.0.1' });
    const openCount = async () =>
      Number(/^flashtix_availability_streams_open (\d+)/m.exec(await metrics.registry.metrics())?.[1]);
    const controller = new AbortController();
    const first = await fetch(`${url}/shows/${show.showId}/availability/stream`, {
      headers: { origin: 'https://shop.example' },
      signal: controller.signal,
    });
    expect(first.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    const second = await openStream(url, show.showId);
    const third = await fetch(`${url}/shows/${show.showId}/availability/stream`);
    expect(third.status).toBe(429);
    expect((await third.json()) as { code: string }).toMatchObject({ code: 'rate_limited' });
    expect(await openCount()).toBe(2);
    controller.abort();
    await second.close();
    await waitFor('every stream to be let go', async () => (await openCount()) === 0);
    const head = await api.inject({ method: 'HEAD', url: `/shows/${show.showId}/availability/stream` });
    expect(head.statusCode).toBe(404);
    await api.close();
  });

  it('answers the stream with 503 at once when the change channel is down, never a 500', async () => {
    const unreachable = new RedisAvailabilityCache('redis://127.0.0.1:1');
    try {
      const api = await f.stack.otherApi({ cache: unreachable, cacheIsShared: true });
      const started = Date.now();
      const response = await api.inject({ method: 'GET', url: `/shows/${randomUUID()}/availability/stream` });
      expectProblem(response, 503, 'unavailable');
      expect(response.headers['retry-after']).toBeDefined();
      expect(Date.now() - started).toBeLessThan(6000);
    } finally {
      await unreachable.close();
    }
  });

  withRedis('streams changes made through another process, through the Redis change channel', async () => {
    const prefix = `flashtix-test-${randomBytes(4).toString('hex')}:`;
    const projectorCache = new RedisAvailabilityCache(redisUrl!, { prefix });
    const apiCache = new RedisAvailabilityCache(redisUrl!, { prefix });
    const runner = new ProjectionRunner({
      pool: f.stack.pool,
      store: f.stack.subject.store,
      // A checkpoint of its own, so that it replays the whole log into this fresh Redis prefix.
      projection: { ...availabilityCacheProjection(projectorCache), name: `availability-cache-${prefix}` },
    });
    runner.start();
    let api: Api | undefined;
    try {
      const show = await f.client.createShow(f.adminToken, [{ capacity: 5 }]);
      await waitFor('Redis to know the show', async () => (await apiCache.get(show.showId)) !== undefined);
      api = await f.stack.otherApi({ cache: apiCache, cacheIsShared: true });
      const url = await api.listen({ port: 0, host: '127.0.0.1' });
      const stream = await openStream(url, show.showId);
      await stream.until(0);
      const buyer = await f.client.register();
      await f.client.placeOrder(buyer.token, randomUUID(), lineOf(show, 2));
      await stream.until(2);
      await stream.close();
    } finally {
      await api?.close();
      await runner.stop();
      await projectorCache.clear();
      await projectorCache.close();
      await apiCache.close();
    }
  });

  it('finishes in-flight requests when closing, and takes no new ones', async () => {
    const slow = f.stack.h.otherProcess({
      gateway: new SimulatedPaymentGateway({ ledger: f.stack.h.ledger, latencyMs: 400 }),
    });
    const api = await f.stack.otherApi({ purchase: slow });
    const url = await api.listen({ port: 0, host: '127.0.0.1' });
    const show = await f.client.createShow(f.adminToken, [{ capacity: 5 }]);
    const buyer = await f.client.register();
    const { orderId } = (await f.client.placeOrder(buyer.token, randomUUID(), lineOf(show))).json() as {
      orderId: string;
    };
    const paying = fetch(`${url}/orders/${orderId}/payment`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${buyer.token}`,
        'idempotency-key': randomUUID(),
        'content-type': 'application/json',
      },
      body: JSON.stringify({ paymentToken: 'tok_visa' }),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = api.close();
    const paid = await paying;
    expect(paid.status).toBe(200);
    expect(await paid.json()).toMatchObject({ order: { status: 'confirmed' } });
    await closing;
    // A new connection is refused: the port is no longer listened on.
    const { port } = new URL(url);
    await expect(
      new Promise((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => resolve(socket.end()));
        socket.on('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
