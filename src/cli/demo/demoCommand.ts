import { randomUUID } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { loadConfig } from '../../platform/config.js';
import { jwtSecretOf, type Runtime } from '../../runtime.js';
import { type Command, UsageError } from '../command.js';
import { openRuntimeFromEnvironment } from '../openRuntimeFromEnvironment.js';
import { bar, ProgressLine } from '../progressLine.js';
import { startRoles } from '../startCommand.js';
import { type CrowdTally, runBuyerCrowd } from './buyerCrowd.js';

type Figures = { capacity: number; available: number; reserved: number; sold: number };

const positive = (value: unknown, name: string, fallback: number): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive whole number`);
  return n;
};

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sums a show's availability over its ticket types. */
const totals = async (baseUrl: string, showId: string): Promise<Figures | undefined> => {
  const response = await fetch(`${baseUrl}/shows/${showId}/availability`);
  if (!response.ok) return undefined;
  const { ticketTypes } = (await response.json()) as { ticketTypes: Figures[] };
  return ticketTypes.reduce(
    (sum, t) => ({
      capacity: sum.capacity + t.capacity,
      available: sum.available + t.available,
      reserved: sum.reserved + t.reserved,
      sold: sum.sold + t.sold,
    }),
    { capacity: 0, available: 0, reserved: 0, sold: 0 },
  );
};

const describe = (t: CrowdTally, started: number) => {
  const seconds = (performance.now() - started) / 1000;
  return `${t.buyersDone} buyers (${Math.round(t.buyersDone / seconds)}/s): ${t.reserved} got seats, ${t.soldOut} sold out, ${t.confirmed} paid, ${t.declined} declined, ${t.cancelled} cancelled, ${t.abandoned} walked away · p50 ${percentile(t.orderLatencies, 50).toFixed(0)} ms, p99 ${percentile(t.orderLatencies, 99).toFixed(0)} ms`;
};

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run a simulated flash sale and audit it',
  help: `Usage: flashtix demo [--url URL] [--buyers N] [--seats N] [--concurrency N]

Starts FlashTix (embedded PostgreSQL unless DATABASE_URL is set, on a free port, without rate
limits), or uses the one running at --url; creates a show with two ticket types, and sends a
crowd of simulated buyers at it over HTTP with live progress. Most pay; some are declined,
cancel, lose the gateway once, or walk away and let their hold (5 s) expire. It ends with the
audit and the sold and available figures, and exits 2 if anything was oversold or the audit
found a violation.

Buyers get tokens signed with JWT_SECRET (or the secret generated in DATA_DIR), so with --url
run it with the server's configuration; the server's admin role is used the same way.
  --url URL         a running FlashTix to use instead of starting one
  --buyers N        how many buyers (default 3000)
  --seats N         seats on sale, split 60/40 over two ticket types (default 1000)
  --concurrency N   buyers in flight at once (default 100)`,
  options: {
    url: { type: 'string' },
    buyers: { type: 'string' },
    seats: { type: 'string' },
    concurrency: { type: 'string' },
  },
  run: async ({ values }) => {
    const buyers = positive(values.buyers, 'buyers', 3000);
    const seats = positive(values.seats, 'seats', 1000);
    const concurrency = positive(values.concurrency, 'concurrency', 100);
    if (seats < 2) throw new UsageError('--seats must be at least 2');
    let runtime: Runtime | undefined;
    const startLocally = async (): Promise<string> => {
      console.log('Starting FlashTix…');
      runtime = await openRuntimeFromEnvironment({ logToStderr: true });
      // Every buyer comes from this machine: per-address limits would stop the crowd.
      const address = await startRoles(runtime, 'all', {
        host: '127.0.0.1',
        port: 0,
        rateLimits: { perIp: 0, ordersPerCustomer: 0, authPerIp: 0, streamsPerIp: 0, windowMs: 60_000 },
      });
      if (!address) throw new Error('the API did not start');
      return address;
    };
    try {
      const config = loadConfig();
      const baseUrl = typeof values.url === 'string' ? values.url.replace(/\/$/, '') : await startLocally();
      const sign = createSigner({ key: await jwtSecretOf(config), algorithm: 'HS256', expiresIn: 3_600_000 });
      const adminToken = sign({ sub: randomUUID(), role: 'admin' });
      const created = await fetch(`${baseUrl}/admin/shows`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: `FlashTix demo ${new Date().toISOString().slice(0, 16)}`,
          venue: 'Demo Arena',
          startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
          currency: 'EUR',
          holdSeconds: 5,
          ticketTypes: [
            { name: 'Floor', priceCents: 8900, capacity: Math.ceil(seats * 0.6), maxPerCustomer: 4 },
            { name: 'Balcony', priceCents: 5900, capacity: Math.floor(seats * 0.4), maxPerCustomer: 4 },
          ],
        }),
      });
      if (created.status !== 201) throw new Error(`could not create the show: ${await created.text()}`);
      const show = (await created.json()) as {
        showId: string;
        ticketTypes: { ticketTypeId: string; maxPerCustomer: number }[];
      };
      console.log(`Show ${show.showId}: ${seats} seats, ${buyers} buyers on ${baseUrl}`);

      const progress = new ProgressLine();
      const started = performance.now();
      const tally = await runBuyerCrowd(
        {
          baseUrl,
          showId: show.showId,
          ticketTypes: show.ticketTypes,
          buyers,
          concurrency,
          tokenFor: (customerId) => sign({ sub: customerId, role: 'customer' }),
        },
        (t) => progress.update(`${bar(t.buyersDone, buyers, 20)} ${describe(t, started)}`),
      );
      progress.done(`${bar(buyers, buyers, 20)} ${describe(tally, started)}`);

      // Walked-away holds come back when they expire; then the figures settle.
      let figures = await totals(baseUrl, show.showId);
      const deadline = Date.now() + 60_000;
      while (
        figures &&
        (figures.reserved > 0 || figures.sold !== tally.seatsConfirmed) &&
        Date.now() < deadline
      ) {
        progress.update(`waiting for holds to expire: ${figures.reserved} seats still held`);
        await sleep(500);
        figures = await totals(baseUrl, show.showId);
      }
      if (!figures) throw new Error('the show has no availability');
      progress.done(
        `Seats: ${figures.capacity} · sold ${figures.sold} · held ${figures.reserved} · available ${figures.available}`,
      );

      const auditResponse = await fetch(`${baseUrl}/admin/audit`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      const report = (await auditResponse.json()) as {
        ok: boolean;
        checkedEvents: number;
        violations: { kind: string; detail: string }[];
      };
      const oversold = figures.sold + figures.reserved > figures.capacity;
      const conserved = figures.sold + figures.reserved + figures.available === figures.capacity;
      console.log(
        `Audit: ${report.ok ? 'OK' : 'VIOLATIONS'} (${report.checkedEvents} events checked${report.ok ? '' : `; ${report.violations.map((v) => v.kind).join(', ')}`})`,
      );
      console.log(
        `Sold ${figures.sold} seats to ${tally.confirmed} paying buyers (${tally.seatsConfirmed} seats paid for); oversold: ${oversold ? 'YES' : 'no'}; sold + held + available = capacity: ${conserved ? 'yes' : 'NO'}`,
      );
      const good = report.ok && !oversold && conserved && figures.sold === tally.seatsConfirmed;
      return good ? 0 : 2;
    } finally {
      await runtime?.shutdown.run();
    }
  },
};
