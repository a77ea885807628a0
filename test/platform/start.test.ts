import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'src/cli.ts');
const tsx = path.join(root, 'node_modules/.bin/tsx');

type Run = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

/** Runs the real `flashtix` command with only the environment given (no DATABASE_URL). */
const run = (args: string[], env: Record<string, string>): Run => {
  const child = spawn(tsx, [cli, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
};

const waitForOutput = async (r: Run, text: string, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!r.output().includes(text)) {
    if (Date.now() > deadline || r.child.exitCode !== null)
      throw new Error(`no "${text}" in:\n${r.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** The whole journey a user takes on a fresh start: admin login, a show, a buyer, an order, a payment. */
const purchaseOverHttp = async (url: string, dataDir: string, output: string) => {
  expect(output).toContain('Log in as admin: POST /auth/login as admin@flashtix.local');
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
  const password = (await readFile(path.join(dataDir, 'admin-password'), 'utf8')).trim();
  const admin = await call('POST', '/auth/login', { email: 'admin@flashtix.local', password });
  expect(admin.status).toBe(200);
  const asAdmin = { authorization: `Bearer ${admin.body.token as string}` };
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
    email: 'buyer@example.com',
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

describe('flashtix start on the embedded default', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'flashtix-start-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts its own PostgreSQL, migrates, serves a whole purchase over HTTP, stops cleanly on SIGTERM and keeps its data', async () => {
    const first = run(['start'], { DATA_DIR: dataDir, PORT: '0' });
    await waitForOutput(first, 'FlashTix is listening on');
    expect(first.output()).toContain('eventstore_001_streams_and_events');
    // The API answers over a real socket, ready with every dependency it has.
    const url = /listening on (http:\/\/\S+) /.exec(first.output())![1]!;
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ok',
      checks: { eventStore: 'ok', postgres: 'ok', redis: 'not_configured' },
    });
    await purchaseOverHttp(url, dataDir, first.output());
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // Second start: the cluster and its migrations are already there.
    const second = run(['start'], { DATA_DIR: dataDir, PORT: '0' });
    await waitForOutput(second, 'FlashTix is listening on');
    expect(second.output()).not.toContain('migrations applied');
    second.child.kill('SIGTERM');
    const secondCode = await second.exited;
    if (secondCode !== 0) console.log(second.output());
    expect(secondCode).toBe(0);
  }, 120_000);

  it('refuses a bad variable with a message that names it', async () => {
    const bad = run(['start'], { DATA_DIR: dataDir, PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('PORT');
    expect(bad.output()).toContain('LOG_LEVEL');
  });

  it('prints help for the command and for each subcommand', async () => {
    const help = run(['--help'], {});
    expect(await help.exited).toBe(0);
    expect(help.output()).toContain('Usage: flashtix <command>');
    const startHelp = run(['start', '--help'], {});
    expect(await startHelp.exited).toBe(0);
    expect(startHelp.output()).toContain('--role');
    const unknown = run(['launch'], {});
    expect(await unknown.exited).toBe(1);
  });
});
