import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelOrder } from '../../src/commands/cancelOrder.js';
import { PaymentUnavailableError, payOrder } from '../../src/commands/payOrder.js';
import { placeOrder } from '../../src/commands/placeOrder.js';
import { scheduleShow } from '../../src/commands/scheduleShow.js';
import { closeSales, openSales } from '../../src/commands/showSales.js';
import { orderStreamName } from '../../src/domain/order/decider.js';
import { HoldExpiry } from '../../src/process/holdExpiry.js';
import { at, type Harness, purchaseHarness, t0 } from '../support/purchaseHarness.js';
import { type StoreSubject, storeSubjects } from '../support/stores.js';

for (const createSubject of storeSubjects) {
  describe(`purchase use cases (${createSubject.name.replace('Subject', '')} store)`, () => {
    let subject: StoreSubject;
    let h: Harness;
    beforeAll(async () => {
      subject = await createSubject();
      h = purchaseHarness(subject);
    });
    afterAll(async () => {
      await h?.close();
      await subject?.teardown();
    });

    const order = (
      showId: string,
      lines: [string, number][],
      key = randomUUID(),
      customerId = 'alice',
      now = t0,
    ) =>
      placeOrder(h.ctx, {
        customerId,
        idempotencyKey: key,
        request: { showId, lines: lines.map(([ticketTypeId, quantity]) => ({ ticketTypeId, quantity })) },
        now,
      });
    const placed = async (...args: Parameters<typeof order>) => {
      const result = await order(...args);
      if (!result.ok) throw result.error;
      return result.value.order;
    };
    const pay = (
      orderId: string,
      paymentToken = 'tok_visa',
      key = randomUUID(),
      now = at(60),
      customerId = 'alice',
    ) => payOrder(h.ctx, { orderId, customerId, idempotencyKey: key, paymentToken, now });

    describe('scheduleShow', () => {
      it('writes the show and one inventory per ticket type, and a retry changes nothing', async () => {
        const showId = randomUUID();
        const input = {
          showId,
          name: 'Retry me',
          venue: 'Hall',
          startsAt: at(86_400).toISOString(),
          currency: 'EUR',
          holdSeconds: 600,
          ticketTypes: [
            { ticketTypeId: randomUUID(), name: 'Floor', priceCents: 100, capacity: 5, maxPerCustomer: 2 },
          ],
          now: t0,
        };
        const first = await scheduleShow(subject.store, input);
        expect(first.ok && first.value.salesOpenAt).toBe(t0.toISOString());
        const revisionBefore = (await subject.store.readStream(`show-${showId}`)).revision;
        expect((await scheduleShow(subject.store, { ...input, now: at(5) })).ok).toBe(true);
        expect((await subject.store.readStream(`show-${showId}`)).revision).toBe(revisionBefore);
        expect(await h.figures(input.ticketTypes[0]!.ticketTypeId)).toEqual({
          available: 5,
          reserved: 0,
          sold: 0,
        });
        const changed = await scheduleShow(subject.store, { ...input, name: 'Other' });
        expect(!changed.ok && changed.error.code).toBe('show_already_scheduled');
      });
    });

    describe('placeOrder', () => {
      it('reserves every line and records a reserved order with its total and hold expiry', async () => {
        const {
          showId,
          ticketTypeIds: [floor, balcony],
        } = await h.newShow(
          [
            { capacity: 10, priceCents: 4500 },
            { capacity: 10, priceCents: 3000 },
          ],
          600,
        );
        const o = await placed(showId, [
          [floor!, 2],
          [balcony!, 1],
        ]);
        expect(o).toMatchObject({
          status: 'reserved',
          customerId: 'alice',
          showId,
          totalCents: 12000,
          currency: 'EUR',
          payment: null,
        });
        expect(o.expiresAt).toBe(at(600).toISOString());
        expect(o.lines).toEqual([
          { ticketTypeId: floor, quantity: 2, unitPriceCents: 4500 },
          { ticketTypeId: balcony, quantity: 1, unitPriceCents: 3000 },
        ]);
        expect(await h.figures(floor!)).toEqual({ available: 8, reserved: 2, sold: 0 });
      });

      it('answers the same key and body with the same order, and refuses the key with another body', async () => {
        const {
          showId,
          ticketTypeIds: [tt],
        } = await h.newShow([{ capacity: 10 }]);
        const key = randomUUID();
        const first = await order(showId, [[tt!, 2]], key);
        const again = await order(showId, [[tt!, 2]], key);
        expect(first.ok && again.ok).toBe(true);
        if (!first.ok || !again.ok) return;
        expect(again.value).toEqual({ order: first.value.order, replayed: true });
        const other = await order(showId, [[tt!, 3]], key);
        expect(!other.ok && other.error.code).toBe('idempotency_key_reused');
        expect(await h.figures(tt!)).toEqual({ available: 8, reserved: 2, sold: 0 });
      });

      it('reserves once for 20 concurrent duplicates, all of which get that one order', async () => {
        const {
          showId,
          ticketTypeIds: [tt],
        } = await h.newShow([{ capacity: 10 }]);
        const key = randomUUID();
        const results = await Promise.all(Array.from({ length: 20 }, () => order(showId, [[tt!, 3]], key)));
        const orderIds = new Set(results.map((r) => (r.ok ? r.value.order.orderId : r.error.code)));
        expect(orderIds.size).toBe(1);
        expect(results.filter((r) => r.ok && !r.value.replayed).length).toBeLessThanOrEqual(1);
        expect(await h.figures(tt!)).toEqual({ available: 7, reserved: 3, sold: 0 });
        const [orderId] = [...orderIds];
        expect((await subject.store.readStream(orderStreamName(orderId!))).events.map((e) => e.type)).toEqual(
          ['OrderPlaced', 'OrderReserved'],
        );
      });

      it('records a refused order as rejected, gives back the lines already held, and replays the refusal', async () => {
        const {
          showId,
          ticketTypeIds: [plenty, scarce],
        } = await h.newShow([{ capacity: 10 }, { capacity: 1 }]);
        const key = randomUUID();
        const result = await order(
          showId,
          [
            [plenty!, 2],
            [scarce!, 2],
          ],
          key,
        );
        expect(result.ok && result.value.order).toMatchObject({
          status: 'rejected',
          rejectReason: 'sold_out',
          expiresAt: null,
        });
        expect(await h.figures(plenty!)).toEqual({ available: 10, reserved: 0, sold: 0 });
        const replay = await order(
          showId,
          [
            [plenty!, 2],
            [scarce!, 2],
          ],
          key,
        );
        expect(replay.ok && replay.value).toMatchObject({
          replayed: true,
          order: { status: 'rejected', rejectReason: 'sold_out' },
        });
      });

      it('rejects over the per-customer limit, before sales open and after they close', async () => {
        const {
          showId,
          ticketTypeIds: [tt],
        } = await h.newShow([{ capacity: 10, maxPerCustomer: 2 }]);
        expect((await placed(showId, [[tt!, 3]])).rejectReason).toBe('purchase_limit_exceeded');
        expect((await placed(showId, [[tt!, 1]], randomUUID(), 'alice', at(-1))).rejectReason).toBe(
          'sales_not_open',
        );
        expect((await closeSales(subject.store, h.ctx.writers, showId, at(1))).ok).toBe(true);
        expect((await placed(showId, [[tt!, 1]], randomUUID(), 'alice', at(2))).rejectReason).toBe(
          'sales_closed',
        );
        expect((await openSales(subject.store, h.ctx.writers, showId, at(3))).ok).toBe(true);
        expect((await placed(showId, [[tt!, 1]], randomUUID(), 'alice', at(4))).status).toBe('reserved');
      });

      it('refuses an unknown show or ticket type and writes no order', async () => {
        const { showId } = await h.newShow([{ capacity: 10 }]);
        const key = randomUUID();
        const noShow = await order(randomUUID(), [[randomUUID(), 1]], key);
        expect(!noShow.ok && noShow.error.code).toBe('show_not_found');
        const noType = await order(showId, [[randomUUID(), 1]], key);
        expect(!noType.ok && noType.error.code).toBe('ticket_type_not_found');
        const {
          ticketTypeIds: [known],
        } = await h.newShow([{ capacity: 10 }]);
        const duplicateLines = await order(
          showId,
          [
            [known!, 1],
            [known!, 1],
          ],
          key,
        );
        expect(!duplicateLines.ok && duplicateLines.error.code).toBe('invalid_order');
        expect(await h.figures(known!)).toEqual({ available: 10, reserved: 0, sold: 0 });
      });
    });

    describe('payOrder', () => {
      it('charges, confirms and sells the seats; the same key again charges nothing more', async () => {
        const {
          showId,
          ticketTypeIds: [tt],
        } = await h.newShow([{ capacity: 10, priceCents: 2500 }]);
        const o = await placed(showId, [[tt!, 2]]);
        const key = randomUUID();
        const paid = await pay(o.orderId, 'tok_visa', key);
        if (!paid.ok) throw paid.error;
        expect(paid.value.payment.status).toBe('succeeded');
        expect(paid.value.order).toMatchObject({
          status: 'confirmed',
          payment: { status: 'succeeded', attempts: 1 },
        });
        expect(await h.figures(tt!)).toEqual({ available: 8, reserved: 0, sold: 2 });
        const again = await pay(o.orderId, 'tok_visa', key);
        expect(again.ok && again.value).toMatchObject({ replayed: true, payment: paid.value.payment });
        const charge = await h.ledger.findCharge(paid.value.payment.attemptId);
        expect(charge?.status).toBe('succeeded');
        const second = await pay(o.orderId, 'tok_visa', randomUUID());
        expect(!second.ok && second.error.code).toBe('order_not_payable');
        const reused = await pay(o.orderId, 'tok_other', key);
        expect(!reused.ok && reused.error.code).toBe('idempotency_key_reused');
      });

      it('a decline cancels the order and gives the seats back', async () => {
        const {
          showId,
          ticketTypeIds: [tt],
        } = await h.newShow([{ capacity: 10 }]);
        const o = await placed(showId, [[tt!, 2]]);
        const declined = await pay(o.orderId, 'tok_decline');
        expect(declined.ok && declined.value).toMatchObject({
          payment: { status: 'failed', reason: 'card_declined' },
          order: { status: 'cancelled', cancelReason: 'payment_failed', refunded: false },
        });
        expect(await h.figures(tt!)).toEqual({ available: 10, reserved: 0, sold: 0 });
      });

      it('a gateway failure before charging is retry-safe: nothing charged, the order still payable', async () => {
        const {
          showId,
          ticketTypeIds: [tt],
        } = await h.newShow([{ capacity: 10 }]);
        const o = await placed(showId, [[tt!, 1]]);
        const key = randomUUID();
        await expect(pay(o.orderId, 'tok_error', key)).rejects.toBeInstanceOf(PaymentUnavailableError);
        await expect(pay(o.orderId, 'tok_error', key)).rejects.toBeInstanceOf(PaymentUnavailableError);
        const paid = await pay(o.orderId, 'tok_visa', randomUUID());
        expect(paid.ok && paid.value.order.status).toBe('confirmed');
        expect(await h.figures(tt!)).toEqual({ available: 9, reserved: 0, sold: 1 });
      });

      it('refuses to pay after the hold expired, or for an order that is not the caller’s', async () => {
        const {
          showId,
          ticketTypeIds: [tt],
        } = await h.newShow([{ capacity: 10 }], 60);
        const o = await placed(showId, [[tt!, 1]]);
        const late = await pay(o.orderId, 'tok_visa', randomUUID(), at(61));
        expect(!late.ok && late.error.code).toBe('hold_expired');
        const stranger = await pay(o.orderId, 'tok_visa', randomUUID(), at(10), 'mallory');
        expect(!stranger.ok && stranger.error.code).toBe('order_not_found');
      });
    });

    describe('cancelOrder', () => {
      it('gives a reserved order’s seats back; a confirmed order cannot be cancelled', async () => {
        const {
          showId,
          ticketTypeIds: [tt],
        } = await h.newShow([{ capacity: 10 }]);
        const o = await placed(showId, [[tt!, 2]]);
        const stranger = await cancelOrder(h.ctx, { orderId: o.orderId, customerId: 'mallory', now: at(5) });
        expect(!stranger.ok && stranger.error.code).toBe('order_not_found');
        const cancelled = await cancelOrder(h.ctx, { orderId: o.orderId, customerId: 'alice', now: at(5) });
        expect(cancelled.ok && cancelled.value).toMatchObject({
          status: 'cancelled',
          cancelReason: 'customer_cancelled',
        });
        expect(await h.figures(tt!)).toEqual({ available: 10, reserved: 0, sold: 0 });
        const confirmed = await placed(showId, [[tt!, 1]]);
        await pay(confirmed.orderId);
        const refused = await cancelOrder(h.ctx, {
          orderId: confirmed.orderId,
          customerId: 'alice',
          now: at(90),
        });
        expect(!refused.ok && refused.error.code).toBe('order_not_cancellable');
      });
    });

    it('refunds a payment that lands after the hold expired', async () => {
      if (!subject.database) return; // hold expiry works from the PostgreSQL hold table
      const slow = purchaseHarness(subject, { latencyMs: 300 });
      const {
        showId,
        ticketTypeIds: [tt],
      } = await slow.newShow([{ capacity: 10 }], 60);
      const result = await placeOrder(slow.ctx, {
        customerId: 'alice',
        idempotencyKey: randomUUID(),
        request: { showId, lines: [{ ticketTypeId: tt!, quantity: 2 }] },
        now: t0,
      });
      if (!result.ok) throw result.error;
      const orderId = result.value.order.orderId;
      await subject.database.pool.query(
        'INSERT INTO process_holds (ticket_type_id, reservation_id, expires_at) VALUES ($1, $2, $3)',
        [tt, orderId, at(60)],
      );
      // The payment starts just before expiry; while the gateway works, expiry runs.
      const paying = payOrder(slow.ctx, {
        orderId,
        idempotencyKey: randomUUID(),
        paymentToken: 'tok_visa',
        now: at(59),
      });
      await new Promise((r) => setTimeout(r, 100));
      const expiry = new HoldExpiry({
        ctx: slow.otherProcess(),
        pool: subject.database.pool,
        clock: () => at(63),
      });
      expect(await expiry.expireDue()).toBe(1);
      const paid = await paying;
      expect(paid.ok && paid.value).toMatchObject({
        payment: { status: 'succeeded' },
        order: {
          status: 'cancelled',
          cancelReason: 'expired',
          refunded: true,
          payment: { status: 'refunded' },
        },
      });
      expect(await slow.figures(tt!)).toEqual({ available: 10, reserved: 0, sold: 0 });
      const attempt = paid.ok ? paid.value.payment.attemptId : '';
      const refunds = await subject.database.pool.query(
        'SELECT count(*)::int AS n FROM gateway_refunds WHERE idempotency_key = $1',
        [`refund:${attempt}`],
      );
      expect(refunds.rows[0].n).toBe(1);
      // Expiry came while the charge was on its way: the attempt was already requested then.
      const payments = (await subject.store.readStream(`payment-${orderId}`)).events.map((e) => e.type);
      expect(payments).toEqual(['PaymentRequested', 'PaymentSucceeded', 'PaymentRefunded']);
      const orderEvents = (await subject.store.readStream(`order-${orderId}`)).events;
      const cancelledAt = orderEvents.find((e) => e.type === 'OrderCancelled')!.position;
      const succeededAt = (await subject.store.readStream(`payment-${orderId}`)).events[1]!.position;
      expect(cancelledAt < succeededAt).toBe(true);
      await slow.close();
    });
  });
}
