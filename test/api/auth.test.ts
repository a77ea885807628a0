import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CustomerAccounts } from '../../src/accounts/customerAccounts.js';
import { expectProblemShape as expectProblem } from '../support/apiHarness.js';
import { ADMIN, handMadeToken, useApiStack } from '../support/apiStack.js';

describe('HTTP API: accounts, tokens and who may do what', () => {
  const f = useApiStack();

  const register = (payload: Record<string, unknown>) =>
    f.stack.api.inject({ method: 'POST', url: '/auth/register', payload });
  const login = (payload: Record<string, unknown>) =>
    f.stack.api.inject({ method: 'POST', url: '/auth/login', payload });

  it('registers a customer, refuses the same email in another case, and logs in', async () => {
    const email = `Ann.${randomUUID()}@Example.com`;
    const registered = await register({ email, password: 'a long enough password', name: 'Ann' });
    expect(registered.statusCode).toBe(201);
    const { customerId, token } = registered.json() as { customerId: string; token: string };
    expect(token.split('.')).toHaveLength(3);
    expectProblem(
      await register({ email: email.toLowerCase(), password: 'another password', name: 'Ann 2' }),
      409,
      'email_taken',
    );
    const loggedIn = await login({ email: email.toUpperCase(), password: 'a long enough password' });
    expect(loggedIn.statusCode).toBe(200);
    const body = loggedIn.json() as { customerId: string; role: string; token: string; expiresAt: string };
    expect(body).toMatchObject({ customerId, role: 'customer' });
    // Twelve hours by default.
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(11 * 3600_000);
    const [, payload] = body.token.split('.');
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString())).toMatchObject({
      sub: customerId,
      role: 'customer',
    });
  });

  it('answers a wrong password and an unknown email alike, with 401', async () => {
    const { customerId } = await f.client.register();
    expect(customerId).toBeTruthy();
    const wrong = expectProblem(
      await login({ email: ADMIN.email, password: 'not the password' }),
      401,
      'unauthorized',
    );
    const unknown = expectProblem(
      await login({ email: `${randomUUID()}@example.com`, password: 'not the password' }),
      401,
      'unauthorized',
    );
    expect(unknown.detail).toBe(wrong.detail);
  });

  it('refuses bad sign-up input with the field named, and writes no account', async () => {
    const email = `${randomUUID()}@example.com`;
    const short = expectProblem(
      await register({ email, password: 'short', name: 'Bo' }),
      400,
      'validation_failed',
    ) as {
      errors?: { path: string }[];
    };
    expect(short.errors?.map((e) => e.path)).toEqual(['body.password']);
    expectProblem(
      await register({ email: 'not-an-email', password: 'long enough pass', name: 'Bo' }),
      400,
      'validation_failed',
    );
    expectProblem(await register({ email, password: 'x'.repeat(129), name: 'Bo' }), 400, 'validation_failed');
    expectProblem(
      await register({ email, password: 'long enough pass', name: 'B\u0000o' }),
      400,
      'validation_failed',
    );
    const { rows } = await f.stack.pool.query('SELECT 1 FROM customers WHERE email = $1', [email]);
    expect(rows).toHaveLength(0);
  });

  it('creates the admin account from its settings, and lets it in as admin', async () => {
    const response = await login(ADMIN);
    expect(response.json()).toMatchObject({ role: 'admin' });
    const { rows } = await f.stack.pool.query<{ password_hash: string }>(
      'SELECT password_hash FROM customers WHERE email = $1',
      [ADMIN.email],
    );
    // scrypt with its parameters in the hash; never the password itself.
    expect(rows[0]!.password_hash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$/);
    expect(rows[0]!.password_hash).not.toContain(ADMIN.password);
  });

  it('refuses missing, malformed, forged, expired, not-yet-valid, unsigned and claim-less tokens with 401', async () => {
    const { customerId } = await f.client.register();
    const now = Math.floor(Date.now() / 1000);
    const good = { sub: customerId, role: 'customer', iat: now, exp: now + 600 };
    const refused = [
      undefined,
      'Bearer',
      'Bearer not.a.token',
      'Basic dXNlcjpwYXNz',
      `Bearer ${handMadeToken(good, { secret: 'some-other-secret-that-is-long-enough!!' })}`,
      `Bearer ${handMadeToken({ ...good, exp: now - 10 })}`,
      `Bearer ${handMadeToken(good, { alg: 'none' })}`,
      `Bearer ${handMadeToken({ sub: customerId, iat: now, exp: now + 600 })}`,
      `Bearer ${handMadeToken({ ...good, role: 'superuser' })}`,
      // Not valid yet, or under another algorithm than HS256.
      `Bearer ${handMadeToken({ ...good, nbf: now + 600 })}`,
      `Bearer ${handMadeToken(good, { alg: 'HS512' })}`,
    ];
    for (const authorization of refused) {
      const response = await f.stack.api.inject({
        method: 'GET',
        url: '/orders',
        headers: authorization ? { authorization } : {},
      });
      expectProblem(response, 401, 'unauthorized');
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
    const expired = await f.stack.api.inject({
      method: 'GET',
      url: '/orders',
      headers: { authorization: `Bearer ${handMadeToken({ ...good, exp: now - 10 })}` },
    });
    expect((expired.json() as { detail: string }).detail).toMatch(/expired/);
    // The same claims, properly signed, are accepted.
    const accepted = await f.stack.api.inject({
      method: 'GET',
      url: '/orders',
      headers: { authorization: `Bearer ${handMadeToken(good)}` },
    });
    expect(accepted.statusCode).toBe(200);
  });

  it('keeps customers out of admin routes (403) and out of other customers’ orders (404)', async () => {
    const admin = await f.client.adminToken();
    const show = await f.client.createShow(admin, [{ capacity: 10 }]);
    const alice = await f.client.register('Alice');
    const bob = await f.client.register('Bob');
    for (const request of [
      { method: 'POST' as const, url: '/admin/shows', payload: {} },
      { method: 'POST' as const, url: `/admin/shows/${show.showId}/sales/close` },
      { method: 'GET' as const, url: '/admin/audit' },
    ])
      expectProblem(
        await f.stack.api.inject({ ...request, headers: f.client.bearer(alice.token) }),
        403,
        'forbidden',
      );
    expectProblem(await f.stack.api.inject({ method: 'GET', url: '/admin/audit' }), 401, 'unauthorized');

    const placed = await f.client.placeOrder(alice.token, randomUUID(), {
      showId: show.showId,
      lines: [{ ticketTypeId: show.ticketTypes[0]!.ticketTypeId, quantity: 1 }],
    });
    expect(placed.statusCode).toBe(201);
    const { orderId } = placed.json() as { orderId: string };
    expectProblem(await f.client.getOrder(bob.token, orderId), 404, 'not_found');
    expectProblem(await f.client.pay(bob.token, orderId, randomUUID()), 404, 'not_found');
    expectProblem(await f.client.cancel(bob.token, orderId), 404, 'not_found');
    // Bob's attempts changed nothing; the admin sees Alice's order.
    const seen = await f.client.getOrder(admin, orderId);
    expect(seen.json()).toMatchObject({
      orderId,
      customerId: alice.customerId,
      status: 'reserved',
      payment: null,
    });
  });

  it('limits logins per address more tightly than other routes', async () => {
    const limited = await f.stack.otherApi({
      rateLimits: { perIp: 1000, ordersPerCustomer: 0, authPerIp: 3, streamsPerIp: 0, windowMs: 60_000 },
    });
    const attempt = () =>
      limited.inject({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: '10.9.9.9',
        payload: { email: ADMIN.email, password: 'guess' },
      });
    for (let i = 0; i < 3; i++) expectProblem(await attempt(), 401, 'unauthorized');
    const refused = await attempt();
    expectProblem(refused, 429, 'rate_limited');
    expect(refused.headers['retry-after']).toBeDefined();
    expect(
      (await limited.inject({ method: 'GET', url: '/shows', remoteAddress: '10.9.9.9' })).statusCode,
    ).toBe(200);
  });

  it('makes the configured admin the only admin: a former one is a customer again', async () => {
    const accounts = new CustomerAccounts(f.stack.pool);
    const former = `former-${randomUUID()}@example.com`;
    await accounts.ensureAdmin(former, 'former-admin-pass');
    expect((await login({ email: former, password: 'former-admin-pass' })).json()).toMatchObject({
      role: 'admin',
    });
    await accounts.ensureAdmin(ADMIN.email, ADMIN.password);
    expect((await login({ email: former, password: 'former-admin-pass' })).json()).toMatchObject({
      role: 'customer',
    });
    expect((await login(ADMIN)).json()).toMatchObject({ role: 'admin' });
  });
});
