import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelOrder } from '../../src/commands/cancelOrder.js';
import { handleCommand } from '../../src/commands/handleCommand.js';
import { readOrderView } from '../../src/commands/orderView.js';
import { attemptIdFor, payOrder } from '../../src/commands/payOrder.js';
import { placeOrder } from '../../src/commands/placeOrder.js';
import type { PurchaseContext, SagaStep } from '../../src/commands/purchaseContext.js';
import { requestHash } from '../../src/commands/requestHash.js';
import { orderDecider } from '../../src/domain/order/decider.js';
import { paymentDecider, paymentStreamName } from '../../src/domain/payment/decider.js';
import type { EventStore } from '../../src/eventstore/eventStore.js';
import { HoldExpiry } from '../../src/process/holdExpiry.js';
import { PurchaseProcessManager } from '../../src/process/purchaseProcessManager.js';
import { at, type Harness, purchaseHarness, t0 } from '../support/purchaseHarness.js';
import { postgresSubject, type StoreSubject } from '../support/stores.js';
import { waitFor } from '../support/waitFor.js';

const headPosition = async (store: EventStore) => {
  let from = 'start';
  for (;;) {
    const page = await store.readAll({ from, maxCount: 1000 });
    if (page.length === 0) return from;
    from = page.at(-1)!.position;
  }
};

/** Throws once at the named step: the process stops there as if it had crashed. */
const crashOnceAt = (target: SagaStep | 'anywhere') => {
  let fired = false;
  return (step: SagaStep) => {
    if (!fired && (target === 'anywhere' || step === target)) {
      fired = true;
      throw new Error(`crash at ${step}`);
    }
  };
};

type Scenario = {
  name: string;
  steps: SagaStep[];
  /** Leaves an order that the process manager must finish; returns its id. */
  arrange(h: Harness, api: PurchaseContext): Promise<string>;
  expected: {
    status: string;
    cancelReason?: string;
    refunded?: boolean;
    sold: number;
    available: number;
    refunds: number;
  };
};

const order = async (ctx: PurchaseContext, showId: string, ticketTypeIds: string[]) => {
  const placed = await placeOrder(ctx, {
    customerId: 'alice',
    idempotencyKey: randomUUID(),
    request: { showId, lines: ticketTypeIds.map((ticketTypeId) => ({ ticketTypeId, quantity: 2 })) },
    now: t0,
  });
  if (!placed.ok) throw placed.error;
  return placed.value.order.orderId;
};

/**
 * Places a two-line order and pays for it through an API process that stops right after
 * recording the payment's outcome, before its inline saga step.
 */
const payThenCrash = async (h: Harness, api: PurchaseContext, paymentToken: string, now: Date) => {
  const { showId, ticketTypeIds } = await h.newShow([{ capacity: 10 }, { capacity: 10 }], 60);
  const orderId = await order(api, showId, ticketTypeIds);
  await expect(payOrder(api, { orderId, idempotencyKey: randomUUID(), paymentToken, now })).rejects.toThrow(
    'crash',
  );
  return { orderId, ticketTypeIds };
};

const scenarios: Scenario[] = [
  {
    name: 'paid while held: commit both lines, confirm',
    steps: ['commit-lines', 'confirm-order'],
    arrange: async (h, api) => (await payThenCrash(h, api, 'tok_visa', at(30))).orderId,
    expected: { status: 'confirmed', sold: 2, available: 8, refunds: 0 },
  },
  {
    name: 'declined: release both lines, cancel',
    steps: ['release-lines', 'cancel-order'],
    arrange: async (h, api) => (await payThenCrash(h, api, 'tok_decline', at(30))).orderId,
    expected: {
      status: 'cancelled',
      cancelReason: 'payment_failed',
      refunded: false,
      sold: 0,
      available: 10,
      refunds: 0,
    },
  },
  {
    name: 'paid after a hold ran out: release, refund, cancel',
    steps: ['release-lines', 'refund-payment', 'record-refund', 'cancel-order'],
    arrange: async (h, api) => {
      const { orderId, ticketTypeIds } = await payThenCrash(h, api, 'tok_visa', at(59));
      // One line's hold was released for expiry before the payment was seen through.
      const released = await api.writers.release(ticketTypeIds[0]!, orderId, 'expired', at(61));
      expect(released.ok).toBe(true);
      return orderId;
    },
    expected: {
      status: 'cancelled',
      cancelReason: 'expired',
      refunded: true,
      sold: 0,
      available: 10,
      refunds: 1,
    },
  },
];

describe('purchase process manager', () => {
  let subject: StoreSubject;
  let h: Harness;
  beforeAll(async () => {
    subject = await postgresSubject();
    h = purchaseHarness(subject);
  });
  afterAll(async () => {
    await h?.close();
    await subject?.teardown();
  });

  const pool = () => subject.database!.pool;

  /** A process manager that starts at the head of the log and may crash once at a step. */
  const startManager = async (name: string, crashAt?: SagaStep, clock = () => at(120)) => {
    await pool().query('INSERT INTO process_checkpoints (name, position) VALUES ($1, $2)', [
      name,
      await headPosition(subject.store),
    ]);
    const errors: unknown[] = [];
    const manager = new PurchaseProcessManager({
      ctx: h.otherProcess({ onStep: crashAt ? crashOnceAt(crashAt) : undefined }),
      pool: pool(),
      name,
      clock,
      retryMs: 50,
      onError: (error) => errors.push(error),
    });
    return { manager, errors };
  };

  for (const scenario of scenarios) {
    for (const crashAt of [undefined, ...scenario.steps]) {
      it(`${scenario.name}${crashAt ? `, surviving a crash at ${crashAt}` : ''}`, async () => {
        const name = `pm-${randomUUID()}`;
        const { manager, errors } = await startManager(name, crashAt);
        const api = h.otherProcess({ onStep: crashOnceAt('anywhere') });
        const orderId = await scenario.arrange(h, api);
        manager.start();
        await waitFor(`order ${orderId} to end`, async () => {
          const view = await readOrderView(subject.store, orderId);
          return (
            view?.status === scenario.expected.status &&
            (view.status !== 'cancelled' || view.refunded === scenario.expected.refunded)
          );
        });
        await manager.stop();
        if (crashAt) expect(errors.map(String)).toEqual([`Error: crash at ${crashAt}`]);

        const view = (await readOrderView(subject.store, orderId))!;
        expect(view.status).toBe(scenario.expected.status);
        if (scenario.expected.cancelReason) expect(view.cancelReason).toBe(scenario.expected.cancelReason);
        for (const line of view.lines)
          expect(await h.figures(line.ticketTypeId)).toEqual({
            available: scenario.expected.available,
            reserved: 0,
            sold: scenario.expected.sold,
          });
        // Exactly once: one ending event for the order, one commit per line, at most one refund.
        const orderEvents = (await subject.store.readStream(`order-${orderId}`)).events.map((e) => e.type);
        expect(orderEvents.filter((t) => t === 'OrderConfirmed' || t === 'OrderCancelled')).toHaveLength(1);
        const paymentEvents = (await subject.store.readStream(paymentStreamName(orderId))).events.map(
          (e) => e.type,
        );
        expect(paymentEvents.filter((t) => t === 'PaymentRefunded')).toHaveLength(scenario.expected.refunds);
        const attempts = (await subject.store.readStream(paymentStreamName(orderId))).events
          .filter((e) => e.type === 'PaymentRequested')
          .map((e) => (e.data as { attemptId: string }).attemptId);
        const refunds = await pool().query(
          'SELECT count(*)::int AS n FROM gateway_refunds WHERE idempotency_key = ANY($1)',
          [attempts.map((a) => `refund:${a}`)],
        );
        expect(refunds.rows[0].n).toBe(scenario.expected.refunds);
      });
    }
  }

  it('changes nothing when the whole log is run through it again', async () => {
    const before = await headPosition(subject.store);
    const refundsBefore = (await pool().query('SELECT count(*)::int AS n FROM gateway_refunds')).rows[0].n;
    const manager = new PurchaseProcessManager({
      ctx: h.otherProcess(),
      pool: pool(),
      name: `replay-${randomUUID()}`,
      clock: () => at(120),
      retryMs: 50,
    });
    manager.start();
    await waitFor('the replay to reach the head', async () => {
      const saved = await pool().query('SELECT position FROM process_checkpoints WHERE name = $1', [
        manager.name,
      ]);
      return saved.rows[0]?.position === before;
    });
    await manager.stop();
    expect(await headPosition(subject.store)).toBe(before);
    expect((await pool().query('SELECT count(*)::int AS n FROM gateway_refunds')).rows[0].n).toBe(
      refundsBefore,
    );
  });

  it('hold expiry cancels unpaid orders past their hold, releases orphan holds, and leaves the rest', async () => {
    const name = `pm-${randomUUID()}`;
    const { manager } = await startManager(name, undefined, () => at(30));
    manager.start();
    const {
      showId,
      ticketTypeIds: [tt],
    } = await h.newShow([{ capacity: 10 }], 60);
    const unpaid = await order(h.ctx, showId, [tt!]);
    const paid = await order(h.ctx, showId, [tt!]);
    expect(
      (
        await payOrder(h.ctx, {
          orderId: paid,
          idempotencyKey: randomUUID(),
          paymentToken: 'tok_visa',
          now: at(30),
        })
      ).ok,
    ).toBe(true);
    // A hold whose order was never recorded (the API stopped between the two appends).
    expect(
      (
        await h.ctx.writers.reserve(tt!, {
          reservationId: randomUUID(),
          customerId: 'bob',
          quantity: 1,
          now: t0,
        })
      ).ok,
    ).toBe(true);
    // A hold taken later, not yet expired at the expiry's clock.
    const fresh = await placeOrder(h.ctx, {
      customerId: 'carol',
      idempotencyKey: randomUUID(),
      request: { showId, lines: [{ ticketTypeId: tt!, quantity: 1 }] },
      now: at(30),
    });
    if (!fresh.ok) throw fresh.error;
    await waitFor('the process manager to see every hold', async () => {
      const holds = await pool().query(
        'SELECT count(*)::int AS n FROM process_holds WHERE ticket_type_id = $1',
        [tt],
      );
      return holds.rows[0].n === 3;
    });
    expect(await h.figures(tt!)).toEqual({ available: 4, reserved: 4, sold: 2 });

    // Within the grace after expiry (2 s by default) nothing is ended yet.
    const early = new HoldExpiry({ ctx: h.otherProcess(), pool: pool(), clock: () => at(61) });
    expect(await early.expireDue()).toBe(0);
    const expiry = new HoldExpiry({ ctx: h.otherProcess(), pool: pool(), clock: () => at(63) });
    expect(await expiry.expireDue()).toBe(2);
    expect(await expiry.expireDue()).toBe(0);
    await manager.stop();

    expect(await h.figures(tt!)).toEqual({ available: 7, reserved: 1, sold: 2 });
    expect(await readOrderView(subject.store, unpaid)).toMatchObject({
      status: 'cancelled',
      cancelReason: 'expired',
      refunded: false,
    });
    expect((await readOrderView(subject.store, paid))?.status).toBe('confirmed');
    expect((await readOrderView(subject.store, fresh.value.order.orderId))?.status).toBe('reserved');
  });

  /** An attempt the gateway charged but the log never heard of (the API stopped in between). */
  const chargeWithoutRecording = async (orderId: string, totalCents: number) => {
    const attemptId = randomUUID();
    await handleCommand(subject.store, paymentDecider, paymentStreamName(orderId), {
      type: 'RequestPayment',
      data: {
        orderId,
        attemptId,
        idempotencyKey: attemptId,
        requestHash: 'h',
        amountCents: totalCents,
        currency: 'EUR',
        now: at(40),
      },
    });
    const charged = await h.ctx.gateway.charge({
      idempotencyKey: attemptId,
      amountCents: totalCents,
      currency: 'EUR',
      paymentToken: 'tok_visa',
    });
    expect(charged.status).toBe('succeeded');
    return attemptId;
  };

  it('a charge that was never recorded is found when its hold comes due, and the order confirmed', async () => {
    const {
      showId,
      ticketTypeIds: [tt],
    } = await h.newShow([{ capacity: 10 }], 60);
    const orderId = await order(h.ctx, showId, [tt!]);
    await chargeWithoutRecording(orderId, 10_000);
    await pool().query(
      'INSERT INTO process_holds (ticket_type_id, reservation_id, expires_at) VALUES ($1, $2, $3)',
      [tt, orderId, at(60)],
    );
    const steps: string[] = [];
    const expiry = new HoldExpiry({
      ctx: h.otherProcess({ onStep: (step) => void steps.push(step) }),
      pool: pool(),
      clock: () => at(63),
    });
    await expiry.expireDue();
    expect(steps).toContain('record-late-charge');
    expect(await readOrderView(subject.store, orderId)).toMatchObject({
      status: 'confirmed',
      payment: { status: 'succeeded' },
    });
    expect(await h.figures(tt!)).toEqual({ available: 8, reserved: 0, sold: 2 });
  });

  it('a payment left pending past the settle time is settled from the gateway: refunded when the order had ended', async () => {
    const {
      showId,
      ticketTypeIds: [tt],
    } = await h.newShow([{ capacity: 10 }], 60);
    const orderId = await order(h.ctx, showId, [tt!]);
    const cancelled = await cancelOrder(h.ctx, { orderId, customerId: 'alice', now: at(10) });
    expect(cancelled.ok).toBe(true);
    const attemptId = await chargeWithoutRecording(orderId, 10_000);
    await pool().query(
      'INSERT INTO process_pending_payments (attempt_id, order_id, requested_at) VALUES ($1, $2, $3)',
      [attemptId, orderId, at(40)],
    );
    const expiry = new HoldExpiry({ ctx: h.otherProcess(), pool: pool(), clock: () => at(40 + 121) });
    await expiry.expireDue();
    expect(await readOrderView(subject.store, orderId)).toMatchObject({
      status: 'cancelled',
      refunded: true,
      payment: { status: 'refunded' },
    });
    const refunds = await pool().query(
      'SELECT count(*)::int AS n FROM gateway_refunds WHERE idempotency_key = $1',
      [`refund:${attemptId}`],
    );
    expect(refunds.rows[0].n).toBe(1);
    expect(
      (await pool().query('SELECT 1 FROM process_pending_payments WHERE attempt_id = $1', [attemptId]))
        .rowCount,
    ).toBe(0);
  });

  it('a retry of an attempt left pending settles it, even once the order has ended', async () => {
    const {
      showId,
      ticketTypeIds: [tt],
    } = await h.newShow([{ capacity: 10 }], 60);
    const orderId = await order(h.ctx, showId, [tt!]);
    const key = randomUUID();
    const api = h.otherProcess({ onStep: crashOnceAt('anywhere') });
    // The gateway charges slowly; the API process stops before recording; the hold runs out.
    const slow = h.otherProcess();
    const attemptId = attemptIdFor(orderId, key);
    await handleCommand(subject.store, paymentDecider, paymentStreamName(orderId), {
      type: 'RequestPayment',
      data: {
        orderId,
        attemptId,
        idempotencyKey: key,
        requestHash: requestHash({ paymentToken: 'tok_visa' }),
        amountCents: 10_000,
        currency: 'EUR',
        now: at(40),
      },
    });
    await slow.gateway.charge({
      idempotencyKey: attemptId,
      amountCents: 10_000,
      currency: 'EUR',
      paymentToken: 'tok_visa',
    });
    await api.writers.release(tt!, orderId, 'expired', at(63));
    await handleCommand(subject.store, orderDecider, `order-${orderId}`, {
      type: 'CancelOrder',
      data: { reason: 'expired', refunded: false, now: at(63) },
    });
    const retried = await payOrder(h.ctx, {
      orderId,
      customerId: 'alice',
      idempotencyKey: key,
      paymentToken: 'tok_visa',
      now: at(70),
    });
    expect(retried.ok && retried.value).toMatchObject({
      replayed: true,
      payment: { status: 'succeeded' },
      order: { status: 'cancelled', refunded: true },
    });
  });

  it('hold expiry gives back a hold taken for an order that was recorded as rejected', async () => {
    const {
      showId,
      ticketTypeIds: [tt],
    } = await h.newShow([{ capacity: 1 }], 60);
    const placed = await placeOrder(h.ctx, {
      customerId: 'bob',
      idempotencyKey: 'k-rejected',
      request: { showId, lines: [{ ticketTypeId: tt!, quantity: 1 }] },
      now: t0,
    });
    expect(placed.ok).toBe(true);
    const rejected = await placeOrder(h.ctx, {
      customerId: 'alice',
      idempotencyKey: 'k-late',
      request: { showId, lines: [{ ticketTypeId: tt!, quantity: 1 }] },
      now: t0,
    });
    if (!rejected.ok) throw rejected.error;
    expect(rejected.value.order.status).toBe('rejected');
    // The seat comes free, and a retry that raced the rejection takes it under the same order id.
    if (placed.ok)
      await cancelOrder(h.ctx, { orderId: placed.value.order.orderId, customerId: 'bob', now: at(5) });
    const stray = await h.ctx.writers.reserve(tt!, {
      reservationId: rejected.value.order.orderId,
      customerId: 'alice',
      quantity: 1,
      now: at(6),
    });
    expect(stray.ok && stray.events.length).toBe(1);
    await pool().query(
      'INSERT INTO process_holds (ticket_type_id, reservation_id, expires_at) VALUES ($1, $2, $3)',
      [tt, rejected.value.order.orderId, at(66)],
    );
    const expiry = new HoldExpiry({ ctx: h.otherProcess(), pool: pool(), clock: () => at(70) });
    expect(await expiry.expireDue()).toBe(1);
    expect(await h.figures(tt!)).toEqual({ available: 1, reserved: 0, sold: 0 });
  });

  it('hold expiry runs on its interval, one instance at a time', async () => {
    const {
      ticketTypeIds: [tt],
    } = await h.newShow([{ capacity: 5 }], 60);
    const orphan = randomUUID();
    expect(
      (await h.ctx.writers.reserve(tt!, { reservationId: orphan, customerId: 'bob', quantity: 2, now: t0 }))
        .ok,
    ).toBe(true);
    await pool().query(
      'INSERT INTO process_holds (ticket_type_id, reservation_id, expires_at) VALUES ($1, $2, $3)',
      [tt, orphan, at(60)],
    );
    const expiries = [1, 2].map(
      () =>
        new HoldExpiry({
          ctx: h.otherProcess(),
          pool: pool(),
          clock: () => at(63),
          intervalMs: 50,
          retryMs: 50,
        }),
    );
    for (const expiry of expiries) expiry.start();
    await waitFor('the orphan hold to be released', async () => (await h.figures(tt!)).available === 5);
    const holders = await pool().query(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = (hashtextextended('process:hold-expiry', 0) & 4294967295)::bigint::oid",
    );
    expect(holders.rows[0].n).toBe(1);
    await Promise.all(expiries.map((e) => e.stop()));
  });

  it('runs one instance at a time; a standby takes over when the active one stops', async () => {
    const name = `pm-${randomUUID()}`;
    const first = await startManager(name);
    const second = new PurchaseProcessManager({
      ctx: h.otherProcess(),
      pool: pool(),
      name,
      clock: () => at(120),
      retryMs: 50,
    });
    first.manager.start();
    second.start();
    const holders = async () =>
      (
        await pool().query(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = (hashtextextended($1, 0) & 4294967295)::bigint::oid",
          [`process:${name}`],
        )
      ).rows[0].n as number;
    await waitFor('one instance to take the lock', async () => (await holders()) === 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(await holders()).toBe(1);
    await first.manager.stop();

    const {
      showId,
      ticketTypeIds: [tt],
    } = await h.newShow([{ capacity: 10 }], 60);
    const orderId = await order(h.ctx, showId, [tt!]);
    // Recorded without the inline step, so only the process manager can confirm it.
    const attemptId = randomUUID();
    await handleCommand(subject.store, paymentDecider, paymentStreamName(orderId), {
      type: 'RequestPayment',
      data: {
        orderId,
        attemptId,
        idempotencyKey: 'k',
        requestHash: 'h',
        amountCents: 20000,
        currency: 'EUR',
        now: at(10),
      },
    });
    await handleCommand(subject.store, paymentDecider, paymentStreamName(orderId), {
      type: 'RecordPaymentSuccess',
      data: { attemptId, chargeId: 'ch_test', now: at(10) },
    });
    await waitFor(
      'the standby to confirm the order',
      async () => (await readOrderView(subject.store, orderId))?.status === 'confirmed',
    );
    await second.stop();
  });
});
