import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ShowBody } from '../../src/api/schemas/show.js';
import type { OrderBody } from '../support/apiClient.js';
import { handMadeToken, useApiStack } from '../support/apiStack.js';

/** Every (status, code) pair the contract lists (shared/API.md, "Errors"). */
const LISTED: Record<number, readonly string[]> = {
  400: ['validation_failed', 'invalid_json'],
  401: ['unauthorized'],
  403: ['forbidden'],
  404: ['not_found'],
  409: [
    'sold_out',
    'purchase_limit_exceeded',
    'sales_not_open',
    'sales_closed',
    'order_not_payable',
    'order_not_cancellable',
    'hold_expired',
    'email_taken',
  ],
  413: ['payload_too_large'],
  415: ['unsupported_media_type'],
  422: ['idempotency_key_reused'],
  429: ['rate_limited'],
  503: ['unavailable'],
};

/** Refusals that record something by contract: a refused order is kept so a replay answers alike. */
const MAY_WRITE = new Set([409]);

/** Runs per property; FUZZ_RUNS raises it for a longer soak. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
/** Sign-ups hash passwords with scrypt (about 15 ms each): time grows with the runs. */
const TIMEOUT_MS = 30_000 + RUNS * 40;

/** Strings that have broken parsers, databases and logs elsewhere. */
const nasty = fc.constantFrom(
  "'; DROP TABLE es_events; --",
  "' OR '1'='1",
  '"; SELECT pg_sleep(10); --',
  '\\',
  '%00',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF\uD800',
  '\u202Egnp.exe',
  '\u200B\u200D\uFEFF',
  'Z̴̡̛̛̛̙̝̪̺̤̖̭̪̓̈́̃̇̈́͐͑͊̍͘a̶̡̳͎̋l̸̢̻̓g̵o̴',
  '𝕏'.repeat(300),
  '../../../etc/passwd',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the characters are the attack
  '${jndi:ldap://example.invalid/a}',
  '<script>alert(1)</script>',
  '{{7*7}}',
  ' ',
  '',
  'null',
  'tok_error',
  'tok_decline',
  '-1',
  '1e309',
  'x'.repeat(5000),
);

const hostileString = fc.oneof(
  nasty,
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 2, 10, 11, 1.5, -0, 2 ** 31, 2 ** 53 + 1, 1e308, -1e308, Number.MAX_SAFE_INTEGER),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.constantFrom(null, true, false, [], {}),
  fc.uuid(),
  fc.array(fc.oneof(hostileString, hostileNumber), { maxLength: 3 }),
  fc.dictionary(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor')), hostileString, {
    maxKeys: 3,
  }),
);

/** A valid body with some of its fields replaced, dropped or joined by strangers. */
const around = (valid: Record<string, unknown>): fc.Arbitrary<unknown> => {
  const keys = Object.keys(valid);
  type Change = { op: 'set' | 'add'; key: string; value: unknown } | { op: 'drop'; key: string };
  const add: fc.Arbitrary<Change> = fc.record({
    op: fc.constant('add' as const),
    key: hostileString,
    value: hostileValue,
  });
  const change: fc.Arbitrary<Change> =
    keys.length === 0
      ? add
      : fc.oneof(
          fc.record({ op: fc.constant('set' as const), key: fc.constantFrom(...keys), value: hostileValue }),
          fc.record({ op: fc.constant('drop' as const), key: fc.constantFrom(...keys) }),
          add,
        );
  return fc.array(change, { maxLength: 3 }).map((changes) => {
    const body: Record<string, unknown> = structuredClone(valid);
    for (const change of changes)
      if (change.op === 'drop') delete body[change.key];
      else body[change.key] = change.value;
    return body;
  });
};

const deepJson = fc
  .integer({ min: 1_000, max: 200_000 })
  .map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);

/** A body as bytes: mostly JSON near the valid one, sometimes broken, deep, huge or no JSON at all. */
const payloadAround = (valid: Record<string, unknown>): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 6, arbitrary: around(valid).map((body) => JSON.stringify(body)) },
    { weight: 1, arbitrary: hostileValue.map((value) => JSON.stringify(value) ?? 'null') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('{', '[1,', '{"a":}', 'nul', '\u0000', '{"showId":"x"}}', '\uFEFF{}', ''),
    },
    { weight: 1, arbitrary: deepJson },
    { weight: 1, arbitrary: fc.constant(JSON.stringify({ ...valid, padding: 'x'.repeat(70 * 1024) })) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'APPLICATION/JSON',
      'application/jsonx',
      '',
    ),
  },
);

/** A string as a path segment; one that is not valid UTF-16 goes as its UTF-8 bytes. */
const inPath = (segment: string): string => {
  try {
    return encodeURIComponent(segment);
  } catch {
    return [...Buffer.from(segment)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
  }
};

type HostileRequest = {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  payload?: string;
};

describe('hostile input against every route', () => {
  const f = useApiStack();
  let show: ShowBody;
  let customer: { customerId: string; token: string };
  let order: OrderBody;
  let webhookId: string;

  beforeAll(async () => {
    show = await f.client.createShow(f.adminToken, [{ capacity: 50, maxPerCustomer: 4 }, { capacity: 5 }]);
    customer = await f.client.register();
    order = (
      await f.client.placeOrder(customer.token, randomUUID(), {
        showId: show.showId,
        lines: [{ ticketTypeId: show.ticketTypes[0]!.ticketTypeId, quantity: 1 }],
      })
    ).json() as OrderBody;
    webhookId = (
      (
        await f.stack.api.inject({
          method: 'POST',
          url: '/admin/webhooks',
          headers: f.client.bearer(f.adminToken),
          payload: { url: 'https://receiver.example/hooks', events: ['order.confirmed'] },
        })
      ).json() as { webhookId: string }
    ).webhookId;
  });

  const writes = async () => {
    const { rows } = await f.stack.pool.query<{ events: number; customers: number; webhooks: number }>(
      `SELECT (SELECT count(*)::int FROM es_events) AS events, (SELECT count(*)::int FROM customers) AS customers,
              (SELECT count(*)::int FROM webhooks WHERE deleted_at IS NULL) AS webhooks`,
    );
    return rows[0]!;
  };

  const authorization = () =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constant(`Bearer ${customer.token}`) },
      { weight: 2, arbitrary: fc.constant(`Bearer ${f.adminToken}`) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '',
          'Bearer',
          'Bearer ',
          'Basic YWRtaW46YWRtaW4=',
          `Bearer ${handMadeToken({ sub: customer.customerId, role: 'admin' }, { alg: 'none' })}`,
          `Bearer ${handMadeToken({ sub: customer.customerId, role: 'admin' }, { secret: 'guessed' })}`,
          `Bearer ${handMadeToken({ sub: "'; DROP TABLE customers; --", role: 'customer', exp: 4_102_444_800 })}`,
          `Bearer ${customer.token}.${customer.token}`,
        ),
      },
      { weight: 1, arbitrary: hostileString.map((s) => `Bearer ${s}`) },
    );

  /** An id for a path: one that exists, one that does not, anything at all, or bytes that are not UTF-8. */
  const pathId = (existing: string) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(existing) },
      { weight: 2, arbitrary: fc.uuid() },
      { weight: 3, arbitrary: hostileString.map(inPath) },
      { weight: 1, arbitrary: fc.constantFrom('%FF', '%C0%AF', '%E0%80%80', '%', '%zz', '..', '%2e%2e%2f') },
    );

  const idempotencyKey = fc.oneof(fc.uuid(), hostileString, fc.constant('k'.repeat(256)));

  const withBody = (
    url: fc.Arbitrary<string>,
    valid: () => Record<string, unknown>,
    opts: { auth?: boolean; key?: boolean } = {},
  ): fc.Arbitrary<HostileRequest> =>
    fc
      .record({
        url,
        payload: payloadAround(valid()),
        type: contentType,
        auth: opts.auth ? authorization() : fc.constant(undefined),
        key: opts.key ? idempotencyKey : fc.constant(undefined),
      })
      .map(({ url: u, payload, type, auth, key }) => ({
        method: 'POST' as const,
        url: u,
        payload,
        headers: {
          ...(type && payload !== undefined ? { 'content-type': type } : {}),
          ...(auth !== undefined ? { authorization: auth } : {}),
          ...(key !== undefined ? { 'idempotency-key': key } : {}),
        },
      }));

  const query = fc
    .record({ limit: fc.option(hostileValue), cursor: fc.option(hostileString) })
    .map(({ limit, cursor }) => {
      const params = new URLSearchParams();
      if (limit !== null) params.set('limit', typeof limit === 'string' ? limit : JSON.stringify(limit));
      if (cursor !== null) params.set('cursor', cursor);
      return params.size > 0 ? `?${params}` : '';
    });

  const withoutBody = (
    url: fc.Arbitrary<string>,
    auth = false,
    method: 'GET' | 'DELETE' = 'GET',
  ): fc.Arbitrary<HostileRequest> =>
    fc.record({ url, auth: auth ? authorization() : fc.constant(undefined) }).map(
      ({ url: u, auth: a }): HostileRequest => ({
        method,
        url: u,
        headers: a !== undefined ? { authorization: a } : {},
      }),
    );

  /** Statuses seen by the running property, to show the input got past validation too. */
  let seen = new Map<number, number>();

  /** Sends one request and holds the answer to the contract. */
  const check = async (request: HostileRequest) => {
    const before = await writes();
    const response = await f.stack.api.inject(request);
    seen.set(response.statusCode, (seen.get(response.statusCode) ?? 0) + 1);
    const context = `${request.method} ${request.url} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
    // Nothing is down here: no 5xx at all, and never a 500.
    expect(response.statusCode, context).toBeLessThan(500);
    if (response.statusCode >= 400) {
      expect(String(response.headers['content-type']), context).toMatch(/^application\/problem\+json/);
      const body = response.json() as { status: number; code: string; detail: unknown };
      expect(LISTED[response.statusCode] ?? [], context).toContain(body.code);
      expect(body.status, context).toBe(response.statusCode);
      expect(typeof body.detail, context).toBe('string');
      expect(response.body, context).not.toMatch(/\bat .*\.(ts|js):\d+|node_modules/);
      if (response.statusCode === 503) expect(response.headers['retry-after'], context).toBeDefined();
      if (!MAY_WRITE.has(response.statusCode)) expect(await writes(), context).toEqual(before);
    }
  };

  /** Runs the property; returns how many answers each status got. */
  const property = async (requests: fc.Arbitrary<HostileRequest>) => {
    seen = new Map();
    await fc.assert(fc.asyncProperty(requests, check), { numRuns: RUNS });
    const statuses = Object.fromEntries([...seen].sort(([a], [b]) => a - b));
    console.log(`statuses over ${RUNS} requests:`, JSON.stringify(statuses));
    return statuses;
  };
  const accepted = (statuses: Record<number, number>) => (statuses[200] ?? 0) + (statuses[201] ?? 0);

  it(
    'sign-up and login',
    async () => {
      const statuses = await property(
        fc.oneof(
          withBody(fc.constant('/auth/register'), () => ({
            email: `${randomUUID()}@example.com`,
            password: 'correct horse battery',
            name: 'Buyer',
          })),
          withBody(fc.constant('/auth/login'), () => ({
            email: 'admin@example.com',
            password: 'wrong-password',
          })),
        ),
      );
      expect(accepted(statuses)).toBeGreaterThan(0);
      expect(statuses[400]).toBeGreaterThan(0);
    },
    TIMEOUT_MS,
  );

  it(
    'the catalog, availability and operations routes',
    async () => {
      const statuses = await property(
        fc.oneof(
          withoutBody(query.map((q) => `/shows${q}`)),
          withoutBody(pathId(show.showId).map((id) => `/shows/${id}`)),
          withoutBody(pathId(show.showId).map((id) => `/shows/${id}/availability`)),
          // A stream that opens would hold the request open: only ids that must be refused.
          withoutBody(
            fc
              .oneof(fc.uuid(), hostileString)
              .filter((id) => id !== show.showId)
              .map((id) => `/shows/${inPath(id)}/availability/stream`),
          ),
          withoutBody(fc.constantFrom('/health/live', '/health/ready', '/metrics')),
          withoutBody(hostileString.map((s) => `/${inPath(s)}`)),
        ),
      );
      expect(accepted(statuses)).toBeGreaterThan(0);
      expect(statuses[404]).toBeGreaterThan(0);
    },
    TIMEOUT_MS,
  );

  it(
    'the admin routes',
    async () => {
      const statuses = await property(
        fc.oneof(
          withBody(
            fc.constant('/admin/shows'),
            () => ({
              name: 'Fuzz Night',
              venue: 'Hall',
              startsAt: '2031-01-01T20:00:00Z',
              currency: 'EUR',
              holdSeconds: 600,
              ticketTypes: [{ name: 'Floor', priceCents: 100, capacity: 10, maxPerCustomer: 2 }],
            }),
            { auth: true },
          ),
          withBody(
            fc
              .tuple(pathId(show.showId), fc.constantFrom('close', 'open'))
              .map(([id, verb]) => `/admin/shows/${id}/sales/${verb}`),
            () => ({}),
            { auth: true },
          ),
          withoutBody(
            query.map((q) => `/admin/audit${q}`),
            true,
          ),
          withBody(
            fc.constant('/admin/webhooks'),
            () => ({
              url: 'https://receiver.example/hooks?token=a',
              events: ['order.placed', 'order.expired'],
            }),
            { auth: true },
          ),
          withoutBody(
            query.map((q) => `/admin/webhooks${q}`),
            true,
          ),
          withoutBody(
            fc.tuple(pathId(webhookId), query).map(([id, q]) => `/admin/webhooks/${id}/deliveries${q}`),
            true,
          ),
          withoutBody(
            pathId(webhookId).map((id) => `/admin/webhooks/${id}`),
            true,
            'DELETE',
          ),
        ),
      );
      expect(accepted(statuses)).toBeGreaterThan(0);
      expect(statuses[403]).toBeGreaterThan(0);
    },
    TIMEOUT_MS,
  );

  it(
    'placing, paying, cancelling and reading orders',
    async () => {
      const line = () => ({ ticketTypeId: show.ticketTypes[0]!.ticketTypeId, quantity: 1 });
      const statuses = await property(
        fc.oneof(
          withBody(
            fc.constant('/orders'),
            () => ({
              showId: show.showId,
              lines: [line(), { ticketTypeId: show.ticketTypes[1]!.ticketTypeId, quantity: 1 }],
            }),
            { auth: true, key: true },
          ),
          // Lines that repeat a ticket type, or carry odd quantities.
          withBody(fc.constant('/orders'), () => ({ showId: show.showId, lines: [line(), line()] }), {
            auth: true,
            key: true,
          }),
          withBody(
            pathId(order.orderId).map((id) => `/orders/${id}/payment`),
            () => ({ paymentToken: 'tok_visa' }),
            { auth: true, key: true },
          ),
          withBody(
            pathId(order.orderId).map((id) => `/orders/${id}/cancel`),
            () => ({}),
            { auth: true },
          ),
          withoutBody(
            query.map((q) => `/orders${q}`),
            true,
          ),
          withoutBody(
            query.map((q) => `/me/notifications${q}`),
            true,
          ),
          withoutBody(
            pathId(order.orderId).map((id) => `/orders/${id}`),
            true,
          ),
        ),
      );
      expect(accepted(statuses)).toBeGreaterThan(0);
      expect(statuses[401]).toBeGreaterThan(0);
    },
    TIMEOUT_MS,
  );
});
