import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OrderBody } from '../../src/api/schemas/order.js';
import type { ShowBody } from '../../src/api/schemas/show.js';
import { SimulatedPaymentGateway } from '../../src/process/simulatedPaymentGateway.js';
import { getOrder } from '../../src/projections/readModels/queries.js';
import { apiClient } from '../support/apiClient.js';
import { expectProblemShape as expectProblem } from '../support/apiHarness.js';
import { useApiStack } from '../support/apiStack.js';
import { waitFor } from '../support/waitFor.js';

type Payment = { order: OrderBody; payment: { attemptId: string; status: string; reason?: string } };

describe('HTTP API: orders and payments, end to end', () => {
  const f = useApiStack();
  let buyer: { customerId: string; token: string };
  beforeAll(async () => {
    buyer = await f.client.register();
  });

  const lineOf = (show: ShowBody, quantity = 1, index = 0) => ({
    showId: show.showId,
    lines: [{ ticketTypeId: show.ticketTypes[index]!.ticketTypeId, quantity }],
  });

  /** Waits until the cached availability of the show's first ticket type has these figures. */
  const expectFigures = async (
    show: ShowBody,
    figures: { available: number; reserved: number; sold: number },
  ) => {
    const ticketTypeId = show.ticketTypes[0]!.ticketTypeId;
    await waitFor(`availability ${JSON.stringify(figures)}`, async () => {
      const { ticketTypes } = await f.client.availability(show.showId);
      const t = ticketTypes?.find((x) => x.ticketTypeId === ticketTypeId);
      return t?.available === figures.available && t.reserved === figures.reserved && t.sold === figures.sold;
    });
  };

  const orderStatus = async (orderId: string) =>
    (await f.client.getOrder(buyer.token, orderId)).json() as OrderBody;

  it('reserve → pay → confirmed, with seats sold and the order readable at once', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 10, priceCents: 4200 }]);
    const key = randomUUID();
    const placed = await f.client.placeOrder(buyer.token, key, lineOf(show, 2));
    expect(placed.statusCode).toBe(201);
    const order = placed.json() as OrderBody;
    expect(placed.headers.location).toBe(`/orders/${order.orderId}`);
    expect(order).toMatchObject({
      customerId: buyer.customerId,
      showId: show.showId,
      status: 'reserved',
      totalCents: 8400,
      currency: 'EUR',
      payment: null,
      lines: [{ ticketTypeId: show.ticketTypes[0]!.ticketTypeId, quantity: 2, unitPriceCents: 4200 }],
    });
    expect(Date.parse(order.expiresAt!)).toBeGreaterThan(Date.now() + 500_000);
    await expectFigures(show, { available: 8, reserved: 2, sold: 0 });

    const paid = await f.client.pay(buyer.token, order.orderId, randomUUID());
    expect(paid.statusCode).toBe(200);
    const body = paid.json() as Payment;
    expect(body.payment).toMatchObject({ status: 'succeeded' });
    expect(body.order).toMatchObject({ status: 'confirmed', payment: { status: 'succeeded', attempts: 1 } });
    await expectFigures(show, { available: 8, reserved: 0, sold: 2 });
    await waitFor(
      'the read model to confirm',
      async () => (await orderStatus(order.orderId)).status === 'confirmed',
    );

    // Paid and confirmed: neither payable nor cancellable any more.
    expectProblem(await f.client.pay(buyer.token, order.orderId, randomUUID()), 409, 'order_not_payable');
    expectProblem(await f.client.cancel(buyer.token, order.orderId), 409, 'order_not_cancellable');
    // Its key still answers with the order as it stands, and holds nothing more.
    const replayed = await f.client.placeOrder(buyer.token, key, lineOf(show, 2));
    expect(replayed.statusCode).toBe(200);
    expect(replayed.json()).toMatchObject({ orderId: order.orderId, status: 'confirmed' });
    await expectFigures(show, { available: 8, reserved: 0, sold: 2 });
  });

  it('answers GET /orders/{id} from the order stream when the read models have not caught up', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 5 }]);
    await f.stack.withReadModelsPaused(async () => {
      const placed = await f.client.placeOrder(buyer.token, randomUUID(), lineOf(show));
      const { orderId } = placed.json() as OrderBody;
      expect(await getOrder(f.stack.pool, orderId)).toBeUndefined();
      const read = await f.client.getOrder(buyer.token, orderId);
      expect(read.statusCode).toBe(200);
      expect(read.json()).toMatchObject({ orderId, status: 'reserved', customerId: buyer.customerId });
    });
  });

  it('a declined payment cancels the order and puts the seats back', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 4 }]);
    const { orderId } = (
      await f.client.placeOrder(buyer.token, randomUUID(), lineOf(show, 3))
    ).json() as OrderBody;
    await expectFigures(show, { available: 1, reserved: 3, sold: 0 });
    const declined = await f.client.pay(buyer.token, orderId, randomUUID(), 'tok_decline');
    expect(declined.statusCode).toBe(200);
    expect(declined.json()).toMatchObject({
      payment: { status: 'failed', reason: expect.any(String) },
      order: { status: 'cancelled', cancelReason: 'payment_failed', refunded: false },
    });
    await expectFigures(show, { available: 4, reserved: 0, sold: 0 });
  });

  it('a gateway error is a 503 safe to retry; the same key never charges twice', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 4 }]);
    const { orderId } = (
      await f.client.placeOrder(buyer.token, randomUUID(), lineOf(show))
    ).json() as OrderBody;
    const errorKey = randomUUID();
    const failed = await f.client.pay(buyer.token, orderId, errorKey, 'tok_error');
    expectProblem(failed, 503, 'unavailable');
    expect(failed.headers['retry-after']).toBeDefined();
    // Retrying the same request is allowed (and fails the same way: this token always errors).
    expectProblem(await f.client.pay(buyer.token, orderId, errorKey, 'tok_error'), 503, 'unavailable');
    // The same key with another body is refused and changes nothing.
    expectProblem(
      await f.client.pay(buyer.token, orderId, errorKey, 'tok_visa'),
      422,
      'idempotency_key_reused',
    );
    expect((await orderStatus(orderId)).status).toBe('reserved');

    const key = randomUUID();
    const [first, second] = await Promise.all([
      f.client.pay(buyer.token, orderId, key),
      f.client.pay(buyer.token, orderId, key),
    ]);
    for (const r of [first, second]) expect(r.statusCode).toBe(200);
    const answers = [first, second].map((r) => r.json() as Payment);
    expect(answers[0]!.payment.attemptId).toBe(answers[1]!.payment.attemptId);
    const replay = await f.client.pay(buyer.token, orderId, key);
    expect(replay.statusCode).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect((replay.json() as Payment).payment).toEqual(answers[0]!.payment);
    const charges = await f.stack.pool.query('SELECT 1 FROM gateway_charges WHERE idempotency_key = $1', [
      answers[0]!.payment.attemptId,
    ]);
    expect(charges.rows).toHaveLength(1);
    expect((await orderStatus(orderId)).status).toBe('confirmed');
  });

  it('cancelling a reserved order gives its seats back; cancelling again answers the same', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 3 }]);
    const key = randomUUID();
    const { orderId } = (await f.client.placeOrder(buyer.token, key, lineOf(show, 2))).json() as OrderBody;
    const cancelled = await f.client.cancel(buyer.token, orderId);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', cancelReason: 'customer_cancelled' });
    expect((await f.client.cancel(buyer.token, orderId)).statusCode).toBe(200);
    expectProblem(await f.client.pay(buyer.token, orderId, randomUUID()), 409, 'order_not_payable');
    await expectFigures(show, { available: 3, reserved: 0, sold: 0 });
    // The key answers with the cancelled order; it takes no seats again.
    const replayed = await f.client.placeOrder(buyer.token, key, lineOf(show, 2));
    expect(replayed.statusCode).toBe(200);
    expect(replayed.json()).toMatchObject({ orderId, status: 'cancelled' });
    await expectFigures(show, { available: 3, reserved: 0, sold: 0 });
  });

  it('replays a placed order with 200 and Idempotent-Replayed, refuses the key with another body (422)', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 5 }, { capacity: 5 }]);
    const key = randomUUID();
    const first = await f.client.placeOrder(buyer.token, key, lineOf(show, 1));
    expect(first.statusCode).toBe(201);
    const again = await f.client.placeOrder(buyer.token, key, lineOf(show, 1));
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    // A refused request writes nothing, not even holds it would give back.
    const eventCount = async () =>
      (await f.stack.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM es_events')).rows[0]!.n;
    const eventsBefore = await eventCount();
    expectProblem(
      await f.client.placeOrder(buyer.token, key, lineOf(show, 2)),
      422,
      'idempotency_key_reused',
    );
    expectProblem(
      await f.client.placeOrder(buyer.token, key, lineOf(show, 1, 1)),
      422,
      'idempotency_key_reused',
    );
    expect(await eventCount()).toBe(eventsBefore);
    // Another body is refused as such, even one that names no show there is.
    expectProblem(
      await f.client.placeOrder(buyer.token, key, { ...lineOf(show, 1), showId: randomUUID() }),
      422,
      'idempotency_key_reused',
    );
    // Keys belong to their customer: another customer's same key is a new order.
    const other = await f.client.register();
    const theirs = await f.client.placeOrder(other.token, key, lineOf(show, 1));
    expect(theirs.statusCode).toBe(201);
    expect((theirs.json() as OrderBody).orderId).not.toBe((first.json() as OrderBody).orderId);
    await expectFigures(show, { available: 3, reserved: 2, sold: 0 });
  });

  it('concurrent duplicates reserve once and each gets that one order, never a 5xx', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 50 }]);
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => f.client.placeOrder(buyer.token, key, lineOf(show, 2))),
    );
    expect(responses.map((r) => r.statusCode).sort()).toEqual(expect.arrayContaining([201]));
    for (const r of responses) expect([200, 201]).toContain(r.statusCode);
    expect(new Set(responses.map((r) => (r.json() as OrderBody).orderId)).size).toBe(1);
    await expectFigures(show, { available: 48, reserved: 2, sold: 0 });
  });

  it('many buyers on a few seats: nothing oversold, every refusal a recorded 409 sold_out', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 7, maxPerCustomer: 2 }]);
    const buyers = await Promise.all(Array.from({ length: 12 }, () => f.client.register()));
    const responses = await Promise.all(
      buyers.map((b) => f.client.placeOrder(b.token, 'stampede', lineOf(show, 1))),
    );
    const created = responses.filter((r) => r.statusCode === 201);
    expect(created).toHaveLength(7);
    for (const r of responses.filter((x) => x.statusCode !== 201)) expectProblem(r, 409, 'sold_out');
    await expectFigures(show, { available: 0, reserved: 7, sold: 0 });
    // A refused order is recorded: its replay is the same 409.
    const refusedIndex = responses.findIndex((r) => r.statusCode === 409);
    const replay = await f.client.placeOrder(buyers[refusedIndex]!.token, 'stampede', lineOf(show, 1));
    expectProblem(replay, 409, 'sold_out');
    expect(replay.headers['idempotent-replayed']).toBe('true');
  });

  it('refuses orders over the per-customer limit, before sales open, after they close, for unknown shows', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 20, maxPerCustomer: 3 }]);
    expectProblem(
      await f.client.placeOrder(buyer.token, randomUUID(), lineOf(show, 4)),
      409,
      'purchase_limit_exceeded',
    );
    const later = await f.client.createShow(f.adminToken, [{ capacity: 5 }], {
      salesOpenAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expectProblem(await f.client.placeOrder(buyer.token, randomUUID(), lineOf(later)), 409, 'sales_not_open');
    const closed = await f.stack.api.inject({
      method: 'POST',
      url: `/admin/shows/${show.showId}/sales/close`,
      headers: f.client.bearer(f.adminToken),
    });
    expect(closed.json()).toMatchObject({ salesClosed: true });
    const closedKey = randomUUID();
    expectProblem(await f.client.placeOrder(buyer.token, closedKey, lineOf(show)), 409, 'sales_closed');
    const reopened = await f.stack.api.inject({
      method: 'POST',
      url: `/admin/shows/${show.showId}/sales/open`,
      headers: f.client.bearer(f.adminToken),
    });
    expect(reopened.json()).toMatchObject({ salesClosed: false });
    // The refusal was recorded: its key still answers 409 after sales reopen; a new key gets seats.
    expectProblem(await f.client.placeOrder(buyer.token, closedKey, lineOf(show)), 409, 'sales_closed');
    expect((await f.client.placeOrder(buyer.token, randomUUID(), lineOf(show))).statusCode).toBe(201);

    expectProblem(
      await f.client.placeOrder(buyer.token, randomUUID(), { ...lineOf(show), showId: randomUUID() }),
      404,
      'not_found',
    );
    expectProblem(
      await f.client.placeOrder(buyer.token, randomUUID(), {
        showId: show.showId,
        lines: [{ ticketTypeId: randomUUID(), quantity: 1 }],
      }),
      404,
      'not_found',
    );
    expectProblem(await f.client.getOrder(buyer.token, randomUUID()), 404, 'not_found');
    expectProblem(await f.client.pay(buyer.token, randomUUID(), randomUUID()), 404, 'not_found');
    expectProblem(await f.client.cancel(buyer.token, randomUUID()), 404, 'not_found');
  });

  it('refuses bad order input with 400 and the field, and writes nothing', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 5 }]);
    const ticketTypeId = show.ticketTypes[0]!.ticketTypeId;
    /** POST /orders as the buyer, with a fresh key unless the headers say otherwise. */
    const post = (payload: string | object, headers: Record<string, string | string[]> = {}) =>
      f.stack.api.inject({
        method: 'POST',
        url: '/orders',
        headers: { ...f.client.bearer(buyer.token), 'idempotency-key': randomUUID(), ...headers },
        payload,
      });
    const fieldsOf = (response: Awaited<ReturnType<typeof post>>) =>
      (expectProblem(response, 400, 'validation_failed') as { errors?: { path: string }[] }).errors?.map(
        (e) => e.path,
      );

    const noKey = await f.stack.api.inject({
      method: 'POST',
      url: '/orders',
      headers: f.client.bearer(buyer.token),
      payload: lineOf(show),
    });
    expect(fieldsOf(noKey)).toEqual(['headers.idempotency-key']);
    const bad: [string, object][] = [
      ['body.lines', { showId: show.showId, lines: [] }],
      ['body.lines.0.quantity', { showId: show.showId, lines: [{ ticketTypeId, quantity: 0 }] }],
      ['body.lines.0.quantity', { showId: show.showId, lines: [{ ticketTypeId, quantity: 1.5 }] }],
      ['body.showId', { showId: 'not-a-uuid', lines: [{ ticketTypeId, quantity: 1 }] }],
      [
        'body.lines',
        {
          showId: show.showId,
          lines: [
            { ticketTypeId, quantity: 1 },
            { ticketTypeId, quantity: 1 },
          ],
        },
      ],
    ];
    for (const [path, payload] of bad) expect(fieldsOf(await post(payload))).toContain(path);
    expect(fieldsOf(await post(lineOf(show), { 'idempotency-key': 'k'.repeat(256) }))).toContain(
      'headers.idempotency-key',
    );
    // Lone surrogates cannot be hashed into an order id: refused, not a 500 (found by the fuzz suite).
    expect(fieldsOf(await post(lineOf(show), { 'idempotency-key': '\udfff\ud800' }))).toContain(
      'headers.idempotency-key',
    );
    // Two keys would be joined into one that nobody sent.
    expectProblem(
      await post(lineOf(show), { 'idempotency-key': ['first', 'second'] }),
      400,
      'validation_failed',
    );
    expectProblem(
      await post(JSON.stringify(lineOf(show)), { 'content-type': 'text/plain' }),
      415,
      'unsupported_media_type',
    );
    expectProblem(
      await post('showId=x', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'unsupported_media_type',
    );
    expectProblem(await post('{"showId":', { 'content-type': 'application/json' }), 400, 'invalid_json');
    const huge = JSON.stringify({ showId: show.showId, lines: [], padding: 'x'.repeat(70 * 1024) });
    expectProblem(await post(huge, { 'content-type': 'application/json' }), 413, 'payload_too_large');
    expectProblem(
      await f.stack.api.inject({ method: 'GET', url: '/shows/%E0%A4%A' }),
      400,
      'validation_failed',
    );
    const madeUp = Buffer.from(JSON.stringify(['x', 'y'])).toString('base64url');
    for (const url of [`/orders?cursor=${madeUp}`, `/shows?cursor=${madeUp}`])
      expectProblem(
        await f.stack.api.inject({ method: 'GET', url, headers: f.client.bearer(buyer.token) }),
        400,
        'validation_failed',
      );
    await expectFigures(show, { available: 5, reserved: 0, sold: 0 });
  });

  it('pays too late: 409 hold_expired once the hold has run out', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 5 }]);
    const { orderId, expiresAt } = (
      await f.client.placeOrder(buyer.token, randomUUID(), lineOf(show))
    ).json() as OrderBody;
    // An API whose clock is past the hold, before hold expiry has run for it.
    const later = await f.stack.otherApi({ clock: () => new Date(Date.parse(expiresAt!) + 1000) });
    expectProblem(await apiClient(later).pay(buyer.token, orderId, randomUUID()), 409, 'hold_expired');
    expect((await orderStatus(orderId)).status).toBe('reserved');
  });

  it('an unpaid hold of one second expires: the order is cancelled and the seats come back', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 2 }], { holdSeconds: 1 });
    const placed = await f.client.placeOrder(buyer.token, randomUUID(), lineOf(show, 2));
    const { orderId } = placed.json() as OrderBody;
    await expectFigures(show, { available: 0, reserved: 2, sold: 0 });
    await waitFor(
      'the hold to expire',
      async () => (await orderStatus(orderId)).status === 'cancelled',
      15_000,
    );
    expect(await orderStatus(orderId)).toMatchObject({ cancelReason: 'expired', refunded: false });
    await expectFigures(show, { available: 2, reserved: 0, sold: 0 });
    expectProblem(await f.client.pay(buyer.token, orderId, randomUUID()), 409, 'order_not_payable');
  });

  it('a payment that lands after the hold ran out is refunded, and the seats stay on sale', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 2 }], { holdSeconds: 1 });
    const slowGateway = f.stack.h.otherProcess({
      gateway: new SimulatedPaymentGateway({ ledger: f.stack.h.ledger, latencyMs: 2500 }),
    });
    const slow = await f.stack.otherApi({ purchase: slowGateway });
    const { orderId } = (
      await f.client.placeOrder(buyer.token, randomUUID(), lineOf(show, 1))
    ).json() as OrderBody;
    const paid = await apiClient(slow).pay(buyer.token, orderId, randomUUID());
    expect(paid.statusCode).toBe(200);
    await waitFor('the late payment to be refunded', async () => {
      const order = await orderStatus(orderId);
      return order.status === 'cancelled' && order.refunded === true;
    });
    expect(await orderStatus(orderId)).toMatchObject({
      cancelReason: 'expired',
      refunded: true,
      payment: { status: 'refunded' },
    });
    const refunds = await f.stack.pool.query('SELECT 1 FROM gateway_refunds');
    expect(refunds.rows.length).toBeGreaterThanOrEqual(1);
    await expectFigures(show, { available: 2, reserved: 0, sold: 0 });
  });

  it("lists the caller's orders, newest first, page by page", async () => {
    const me = await f.client.register();
    const show = await f.client.createShow(f.adminToken, [{ capacity: 10 }]);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        ((await f.client.placeOrder(me.token, randomUUID(), lineOf(show))).json() as OrderBody).orderId,
      );
    const list = (url: string) =>
      f.stack.api.inject({ method: 'GET', url, headers: f.client.bearer(me.token) });
    await waitFor('the read model to list three orders', async () => {
      const page = (await list('/orders?limit=10')).json() as { items: OrderBody[] };
      return page.items.length === 3;
    });
    const first = (await list('/orders?limit=2')).json() as { items: OrderBody[]; nextCursor: string };
    const second = (await list(`/orders?limit=2&cursor=${first.nextCursor}`)).json() as {
      items: OrderBody[];
      nextCursor: string | null;
    };
    expect([...first.items, ...second.items].map((o) => o.orderId)).toEqual([...ids].reverse());
    expect(second.nextCursor).toBeNull();
    expectProblem(await list('/orders?limit=1000'), 400, 'validation_failed');
  });
});
