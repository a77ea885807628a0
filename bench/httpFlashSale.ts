import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSigner } from 'fast-jwt';
import { webhookEventTypes } from '../src/notifications/notificationReactor.js';
import { type ChildServer, machineBusyMeter, startChildServer } from './childServer.js';
import { type HttpAnswer, type HttpCall, sendLoad } from './httpLoad.js';
import { percentile } from './percentile.js';
import { startWebhookSink, type WebhookSink } from './webhookSink.js';

export type SaleSettings = {
  databaseUrl: string;
  redisUrl: string | undefined;
  capacity: number;
  attempts: number;
  connections: number;
  /** `one`: every role in one process (the default); `split`: api, projector and processor apart. */
  topology: 'one' | 'split';
  /** Register a webhook for every order event, with a receiver in this process, before the sale. */
  webhook?: boolean;
};

export type WebhookFigures = {
  /** One event per order: its hold or its refusal. */
  expected: number;
  events: number;
  requests: number;
  badSignatures: number;
  outOfOrder: number;
  /** Distinct events a second, from the first delivery to the last. */
  eventsPerSecond: number;
  /** From the last 201 to the last delivery. */
  drainSeconds: number;
};

export type BareFastifyFigures = {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  serverCpuSeconds: number | undefined;
  clientCpuSeconds: number;
};

export type SaleFigures = {
  capacity: number;
  attempts: number;
  connections: number;
  /** 201s, and the seats they hold. */
  holds: number;
  seatsHeld: number;
  /** 201s a second, from the first request to the last 201. */
  holdsPerSecond: number;
  /** Every answer a second, over the whole run. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  sellOutSeconds: number;
  /** Share of attempts answered 409, and their codes. */
  conflictRate: number;
  conflictCodes: Record<string, number>;
  /** Anything but 201 or 409, with a few examples. */
  errors: number;
  errorSamples: string[];
  /** How far /availability trailed the holds clients had seen, sampled during the sale. */
  projectionLagP50Ms: number;
  projectionLagP99Ms: number;
  lagSamples: number;
  /** From the last 201 until /availability showed no seat left. */
  lagAfterLastHoldMs: number;
  final: { available: number; reserved: number; sold: number };
  oversold: number;
  serverCpuSeconds: number | undefined;
  /** CPU the benchmark's own process (the crowd) used meanwhile. */
  clientCpuSeconds: number;
  /** With the roles split: CPU of the projector and the processor since they started. */
  backgroundCpuSeconds: (number | undefined)[];
  machineBusy: number | undefined;
  webhook: WebhookFigures | undefined;
  bareFastify: BareFastifyFigures;
};

type Availability = {
  ticketTypes: { available: number; reserved: number; sold: number; capacity: number }[];
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const json = (answer: HttpAnswer): Record<string, unknown> => {
  try {
    return JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    return {};
  }
};

const orderCall = (token: string, showId: string, ticketTypeId: string, quantity: number): HttpCall => ({
  method: 'POST',
  path: '/orders',
  headers: {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    'idempotency-key': randomUUID(),
  },
  body: JSON.stringify({ showId, lines: [{ ticketTypeId, quantity }] }),
});

/** The same requests against a fastify route that does nothing: what this machine's HTTP can do. */
const measureBareFastify = async (settings: SaleSettings, calls: HttpCall[]): Promise<BareFastifyFigures> => {
  const server = await startChildServer('bench/bareFastifyServer.ts', [], {});
  try {
    const cpuBefore = await server.cpuSeconds();
    const clientCpu = process.cpuUsage();
    const run = await sendLoad(server.origin, settings.connections, calls.length, (i) => calls[i]!);
    const clientCpuUsed = process.cpuUsage(clientCpu);
    const cpuAfter = await server.cpuSeconds();
    const latencies = run.answers.map((a) => a.latencyMs).sort((a, b) => a - b);
    return {
      requestsPerSecond: calls.length / ((run.finishedAt - run.startedAt) / 1000),
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      errors: run.answers.filter((a) => a.status !== 201).length,
      serverCpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
      clientCpuSeconds: (clientCpuUsed.user + clientCpuUsed.system) / 1e6,
    };
  } finally {
    await server.stop();
  }
};

/**
 * For each availability sample, how long the oldest hold a client had been told about, but the
 * figures did not count yet, had been waiting. Clients see 201s in some order; the projection
 * counts them in log order; both only grow during a sale (no payments, no expiry), so comparing
 * totals is enough.
 */
const lagsOf = (holds: { at: number; seats: number }[], samples: { at: number; held: number }[]) => {
  const sorted = [...holds].sort((a, b) => a.at - b.at);
  const cumulative: number[] = [];
  let total = 0;
  for (const hold of sorted) {
    total += hold.seats;
    cumulative.push(total);
  }
  return samples.map(({ at, held }) => {
    // The first hold whose seats the sample does not include yet.
    let low = 0;
    let high = cumulative.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cumulative[mid]! > held) high = mid;
      else low = mid + 1;
    }
    const oldest = sorted[low];
    return oldest && oldest.at <= at ? at - oldest.at : 0;
  });
};

/** The sale itself, against `flashtix start`; returns the requests it sent for the reference run. */
const runSale = async (
  settings: SaleSettings,
): Promise<Omit<SaleFigures, 'bareFastify'> & { calls: HttpCall[] }> => {
  const { capacity, attempts, connections } = settings;
  const secret = randomBytes(32).toString('hex');
  const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 3_600_000 });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'flashtix-bench-http-'));
  const env = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: settings.databaseUrl,
    ...(settings.redisUrl ? { REDIS_URL: settings.redisUrl } : {}),
    JWT_SECRET: secret,
    // Request logs at info would cost two lines a request; warnings and errors still show.
    LOG_LEVEL: 'warn',
    // Every buyer here comes from one address; a real crowd comes from many.
    RATE_LIMIT_PER_IP: String(10 * attempts),
  };
  const background: ChildServer[] = [];
  let sink: WebhookSink | undefined;
  if (settings.topology === 'split')
    for (const role of ['projector', 'processor'])
      background.push(
        await startChildServer(
          'src/cli.ts',
          ['start', '--role', role],
          { ...env, LOG_LEVEL: 'info' },
          /FlashTix ready/,
        ),
      );
  const server = await startChildServer(
    'src/cli.ts',
    ['start', '--role', settings.topology === 'split' ? 'api' : 'all'],
    env,
  );
  try {
    const admin = { authorization: `Bearer ${sign({ sub: randomUUID(), role: 'admin' })}` };
    const created = await fetch(`${server.origin}/admin/shows`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Benchmark Night',
        venue: 'Main Hall',
        startsAt: '2030-06-01T19:00:00Z',
        currency: 'EUR',
        holdSeconds: 3600,
        ticketTypes: [{ name: 'Floor', priceCents: 5000, capacity, maxPerCustomer: 2 }],
      }),
    });
    if (created.status !== 201)
      throw new Error(`creating the show: ${created.status} ${await created.text()}`);
    const show = (await created.json()) as { showId: string; ticketTypes: { ticketTypeId: string }[] };
    const ticketTypeId = show.ticketTypes[0]!.ticketTypeId;
    const availability = async (): Promise<Availability['ticketTypes'][number] | undefined> => {
      const response = await fetch(`${server.origin}/shows/${show.showId}/availability`);
      if (response.status !== 200) return undefined;
      return ((await response.json()) as Availability).ticketTypes[0];
    };
    while ((await availability())?.available !== capacity) await sleep(20);
    if (settings.webhook) {
      sink = await startWebhookSink();
      const registered = await fetch(`${server.origin}/admin/webhooks`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ url: sink.url, events: webhookEventTypes }),
      });
      if (registered.status !== 201) throw new Error(`registering the webhook: ${registered.status}`);
      sink.setSecret(((await registered.json()) as { secret: string }).secret);
    }

    // Tokens and bodies are made before the clock starts: the crowd arrives ready.
    const quantities = Array.from({ length: attempts }, () => (Math.random() < 0.5 ? 1 : 2));
    const calls = quantities.map((quantity) =>
      orderCall(sign({ sub: randomUUID(), role: 'customer' }), show.showId, ticketTypeId, quantity),
    );

    const holds: { at: number; seats: number }[] = [];
    const samples: { at: number; held: number; available: number }[] = [];
    let selling = true;
    let giveUpAt = Number.POSITIVE_INFINITY;
    const sampler = (async () => {
      while (selling || (samples.at(-1)?.available !== 0 && performance.now() < giveUpAt)) {
        const figures = await availability();
        if (figures)
          samples.push({ at: performance.now(), held: figures.reserved + figures.sold, ...figures });
        await sleep(20);
      }
    })();
    const busy = await machineBusyMeter();
    const cpuBefore = await server.cpuSeconds();
    const clientCpu = process.cpuUsage();
    const run = await sendLoad(
      server.origin,
      connections,
      attempts,
      (i) => calls[i]!,
      (i, answer) => {
        if (answer.status === 201) holds.push({ at: answer.at, seats: quantities[i]! });
      },
    );
    const cpuAfter = await server.cpuSeconds();
    const clientCpuUsed = process.cpuUsage(clientCpu);
    const backgroundCpu = await Promise.all(background.map((process) => process.cpuSeconds()));
    const machineBusy = await busy();
    selling = false;
    giveUpAt = performance.now() + 30_000;
    await sampler;

    const lastHoldAt = Math.max(...holds.map((h) => h.at));
    const duringSale = samples.filter((s) => s.at <= lastHoldAt);
    const lags = lagsOf(holds, duringSale).sort((a, b) => a - b);
    const latencies = run.answers.map((a) => a.latencyMs).sort((a, b) => a - b);
    const conflictCodes: Record<string, number> = {};
    const errorSamples: string[] = [];
    let errors = 0;
    for (const answer of run.answers) {
      if (answer.status === 409) {
        const code = String(json(answer).code);
        conflictCodes[code] = (conflictCodes[code] ?? 0) + 1;
      } else if (answer.status !== 201) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(`${answer.status} ${answer.body.slice(0, 200)}`);
      }
    }
    const final = (await availability())!;
    let webhook: WebhookFigures | undefined;
    if (sink) {
      const expected = holds.length + Object.values(conflictCodes).reduce((a, b) => a + b, 0);
      const drainDeadline = performance.now() + 300_000;
      while (sink.figures().events < expected && performance.now() < drainDeadline) await sleep(50);
      const got = sink.figures();
      webhook = {
        expected,
        events: got.events,
        requests: got.requests,
        badSignatures: got.badSignatures,
        outOfOrder: got.outOfOrder,
        eventsPerSecond: got.events / (((got.lastAt ?? 0) - (got.firstAt ?? 0)) / 1000),
        drainSeconds: ((got.lastAt ?? Number.NaN) - lastHoldAt) / 1000,
      };
    }
    const seatsHeld = holds.reduce((sum, h) => sum + h.seats, 0);
    const sellOutSeconds = (lastHoldAt - run.startedAt) / 1000;
    return {
      calls,
      capacity,
      attempts,
      connections,
      holds: holds.length,
      seatsHeld,
      holdsPerSecond: holds.length / sellOutSeconds,
      requestsPerSecond: attempts / ((run.finishedAt - run.startedAt) / 1000),
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      sellOutSeconds,
      conflictRate: Object.values(conflictCodes).reduce((a, b) => a + b, 0) / attempts,
      conflictCodes,
      errors,
      errorSamples,
      projectionLagP50Ms: percentile(lags, 0.5),
      projectionLagP99Ms: percentile(lags, 0.99),
      lagSamples: lags.length,
      lagAfterLastHoldMs: (samples.find((s) => s.available === 0)?.at ?? Number.NaN) - lastHoldAt,
      final: { available: final.available, reserved: final.reserved, sold: final.sold },
      oversold: Math.max(0, seatsHeld - capacity, final.reserved + final.sold - capacity),
      serverCpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
      clientCpuSeconds: (clientCpuUsed.user + clientCpuUsed.system) / 1e6,
      backgroundCpuSeconds: backgroundCpu,
      machineBusy,
      webhook,
    };
  } finally {
    await sink?.close();
    await server.stop();
    for (const process of background) await process.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
};

/**
 * Part 2 of the benchmark: `flashtix start` in its own process on the PostgreSQL event store
 * (and Redis when given), a crowd of customers with pre-issued tokens buying one ticket type
 * over `connections` keep-alive connections; then, with that server stopped, the same requests
 * against bare fastify.
 */
export const httpFlashSale = async (settings: SaleSettings): Promise<SaleFigures> => {
  const { calls, ...sale } = await runSale(settings);
  return { ...sale, bareFastify: await measureBareFastify(settings, calls) };
};

/** The same sale with a webhook subscribed to every order event; no bare fastify run. */
export const httpFlashSaleWithWebhook = async (
  settings: SaleSettings,
): Promise<Omit<SaleFigures, 'bareFastify'>> => {
  const { calls: _calls, ...sale } = await runSale({ ...settings, webhook: true });
  return sale;
};
