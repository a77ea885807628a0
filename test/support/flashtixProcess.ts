import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'src/cli.ts');

export type Run = {
  child: ChildProcess;
  /** Standard output and error together, in the order they arrived. */
  output: () => string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once the process has exited and its output is all read. */
  exited: Promise<number | null>;
};

/** Runs the real `flashtix` command with only the environment given (no DATABASE_URL unless given). */
export const run = (args: string[], env: Record<string, string>): Run => {
  // Node loads tsx itself: the tsx command would run the server as a child of its own, which a
  // SIGKILL to the process started here would leave running.
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited };
};

export const waitForOutput = async (r: Run, text: string, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!r.output().includes(text)) {
    if (Date.now() > deadline || r.child.exitCode !== null)
      throw new Error(`no "${text}" in:\n${r.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** The whole journey a user takes on a fresh start: admin login, a show, a buyer, an order, a payment. */
export const purchaseOverHttp = async (url: string, admin: { email: string; password: string }) => {
  const call = async (
    method: string,
    route: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const login = await call('POST', '/auth/login', admin);
  expect(login.status).toBe(200);
  const asAdmin = { authorization: `Bearer ${login.body.token as string}` };
  const show = await call(
    'POST',
    '/admin/shows',
    {
      name: 'Opening Night',
      venue: 'Main Hall',
      startsAt: '2027-06-01T19:00:00Z',
      currency: 'EUR',
      ticketTypes: [{ name: 'Floor', priceCents: 5000, capacity: 100 }],
    },
    asAdmin,
  );
  expect(show.status).toBe(201);
  const buyer = await call('POST', '/auth/register', {
    email: `buyer-${Date.now()}@example.com`,
    password: 'a good long password',
    name: 'Buyer',
  });
  expect(buyer.status).toBe(201);
  const asBuyer = { authorization: `Bearer ${buyer.body.token as string}` };
  const ticketTypeId = (show.body.ticketTypes as { ticketTypeId: string }[])[0]!.ticketTypeId;
  const order = await call(
    'POST',
    '/orders',
    { showId: show.body.showId, lines: [{ ticketTypeId, quantity: 2 }] },
    { ...asBuyer, 'idempotency-key': 'first-order' },
  );
  expect(order.status).toBe(201);
  const paid = await call(
    'POST',
    `/orders/${order.body.orderId as string}/payment`,
    { paymentToken: 'tok_visa' },
    { ...asBuyer, 'idempotency-key': 'first-payment' },
  );
  expect(paid.status).toBe(200);
  expect(paid.body.order).toMatchObject({ status: 'confirmed', totalCents: 10_000 });
  const read = await call('GET', `/orders/${order.body.orderId as string}`, undefined, asBuyer);
  expect(read.body).toMatchObject({ status: 'confirmed' });
  // The projector and the cache run in the same process: availability follows.
  const deadline = Date.now() + 10_000;
  let sold = 0;
  while (sold !== 2 && Date.now() < deadline) {
    const availability = await call('GET', `/shows/${show.body.showId as string}/availability`);
    sold = (availability.body.ticketTypes as { sold: number }[] | undefined)?.[0]?.sold ?? 0;
    if (sold !== 2) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(sold).toBe(2);
};

export type StartedFlashtix = { server: Run; origin: string };

/**
 * `flashtix start` on a free port, logging warnings only, with rate limits off unless `env`
 * sets them (a test's crowd comes from one address); resolves once it listens.
 */
export const startFlashtix = async (env: Record<string, string>): Promise<StartedFlashtix> => {
  const server = run(['start'], {
    PORT: '0',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_IP: '0',
    RATE_LIMIT_ORDERS_PER_CUSTOMER: '0',
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...env,
  });
  await waitForOutput(server, 'FlashTix is listening on');
  return { server, origin: /listening on (http:\/\/\S+) /.exec(server.output())![1]! };
};

export type JsonAnswer = { status: number; headers: Headers; body: Record<string, unknown> };

/** One call to a running server, JSON in and out; throws when no answer comes in time. */
export const callJson = async (
  origin: string,
  method: string,
  route: string,
  { headers = {}, body }: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<JsonAnswer> => {
  const response = await fetch(`${origin}${route}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text.startsWith('{') ? JSON.parse(text) : {}) as Record<string, unknown>,
  };
};
