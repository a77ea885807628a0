import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { OrderBody } from '../support/apiClient.js';
import { useApiStack } from '../support/apiStack.js';
import { useNotificationReactor } from '../support/notificationReactorFixture.js';
import { waitFor } from '../support/waitFor.js';

type Listed = {
  items: { notificationId: string; kind: string; orderId: string; payload: Record<string, unknown> }[];
  nextCursor: string | null;
};

describe('customer notifications', () => {
  const f = useApiStack();
  const reactor = useNotificationReactor(f);

  const list = async (token: string, query = '') => {
    const response = await f.stack.api.inject({
      method: 'GET',
      url: `/me/notifications${query}`,
      headers: f.client.bearer(token),
    });
    expect(response.statusCode).toBe(200);
    return response.json() as Listed;
  };
  const waitForCount = (token: string, count: number) =>
    waitFor(`${count} notifications`, async () => (await list(token, '?limit=100')).items.length >= count);
  const place = async (token: string, show: { showId: string; ticketTypes: { ticketTypeId: string }[] }) =>
    f.client.placeOrder(token, randomUUID(), {
      showId: show.showId,
      lines: [{ ticketTypeId: show.ticketTypes[0]!.ticketTypeId, quantity: 1 }],
    });

  it('tells a customer of every outcome of their orders, once each, newest first, page by page', async () => {
    const show = await f.client.createShow(f.adminToken, [{ capacity: 20 }]);
    const buyer = await f.client.register();
    const other = await f.client.register();

    const confirmed = (await place(buyer.token, show)).json() as OrderBody;
    await f.client.pay(buyer.token, confirmed.orderId, randomUUID());
    const cancelled = (await place(buyer.token, show)).json() as OrderBody;
    await f.client.cancel(buyer.token, cancelled.orderId);
    const declined = (await place(buyer.token, show)).json() as OrderBody;
    await f.client.pay(buyer.token, declined.orderId, randomUUID(), 'tok_decline');
    // Still reserved: not an outcome yet, so nothing to tell.
    const pending = (await place(buyer.token, show)).json() as OrderBody;

    await waitForCount(buyer.token, 3);
    const all = await list(buyer.token, '?limit=100');
    expect(all.items.map((n) => [n.orderId, n.kind, n.payload])).toEqual([
      [
        declined.orderId,
        'order.cancelled',
        expect.objectContaining({ reason: 'payment_failed', refunded: false }),
      ],
      [cancelled.orderId, 'order.cancelled', expect.objectContaining({ reason: 'customer_cancelled' })],
      [
        confirmed.orderId,
        'order.confirmed',
        expect.objectContaining({ status: 'confirmed', showId: show.showId }),
      ],
    ]);
    expect(all.items.some((n) => n.orderId === pending.orderId)).toBe(false);
    // Nobody else's.
    expect((await list(other.token)).items).toEqual([]);

    // Pages: two, then the last one.
    const first = await list(buyer.token, '?limit=2');
    expect(first.items).toHaveLength(2);
    const second = await list(buyer.token, `?limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect([...first.items, ...second.items]).toEqual(all.items);
    expect(second.nextCursor).toBeNull();
  });

  it('tells of refusals and of holds that ran out', async () => {
    const lastSeat = await f.client.createShow(f.adminToken, [{ capacity: 1 }]);
    const lucky = await f.client.register();
    const late = await f.client.register();
    expect((await place(lucky.token, lastSeat)).statusCode).toBe(201);
    const refused = await place(late.token, lastSeat);
    expect(refused.statusCode).toBe(409);

    const brief = await f.client.createShow(f.adminToken, [{ capacity: 5 }], { holdSeconds: 1 });
    const walker = await f.client.register();
    const expired = (await place(walker.token, brief)).json() as OrderBody;

    await waitForCount(late.token, 1);
    expect((await list(late.token)).items).toEqual([
      expect.objectContaining({
        kind: 'order.rejected',
        payload: expect.objectContaining({ reason: 'sold_out' }),
      }),
    ]);
    await waitForCount(walker.token, 1);
    expect((await list(walker.token)).items).toEqual([
      expect.objectContaining({
        orderId: expired.orderId,
        kind: 'order.expired',
        payload: expect.objectContaining({ reason: 'expired', refunded: false }),
      }),
    ]);
    expect((await list(lucky.token)).items).toEqual([]);
  });

  it('makes exactly one notification per outcome, even when the reactor reads the log again from the start', async () => {
    const countByEvent = async () =>
      (
        await f.stack.pool.query<{ n: number; distinct_orders: number }>(
          `SELECT count(*)::int AS n, count(DISTINCT (order_id, kind))::int AS distinct_orders FROM notifications`,
        )
      ).rows[0]!;
    const before = await countByEvent();
    expect(before.n).toBeGreaterThanOrEqual(5);
    expect(before.distinct_orders).toBe(before.n);

    await reactor.readTheLogAgain();
    expect(await countByEvent()).toEqual(before);
  });
});
