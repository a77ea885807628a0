import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../../src/eventstore/eventStore.js';
import { type AuditReport, audit, type ViolationKind } from '../../src/projections/audit.js';
import { READ_MODEL_SCHEMA } from '../../src/projections/readModelSchema.js';
import { readModelProjection } from '../../src/projections/readModels/readModelProjection.js';
import { at, t0 } from '../support/purchaseHarness.js';
import { replayAll } from '../support/replay.js';
import { useWorkloadFixture } from '../support/workloadFixture.js';

describe('audit', () => {
  const fixture = useWorkloadFixture();
  const { pool } = fixture;

  const catchUpReadModels = async () => {
    await replayAll(pool(), fixture.subject.store, readModelProjection());
  };
  const run = (now = at(30)) => audit({ store: fixture.subject.store, pool: pool() }, { now });
  const found = (report: AuditReport, kind: ViolationKind, text: string) =>
    report.violations.filter(
      (v) => v.kind === kind && (v.detail.includes(text) || v.streamName?.includes(text)),
    );

  it('passes a log made by the use cases, and finds the read models equal to it', async () => {
    await catchUpReadModels();
    const report = await run();
    expect(report.violations).toEqual([]);
    expect(report).toMatchObject({ ok: true, readModels: 'matched' });
    expect(report.checkedEvents).toBeGreaterThan(100);
    // The workload leaves some orders reserved: long after their holds, they count as stuck.
    const later = await run(at(3600));
    expect(later.violations.map((v) => v.kind)).toContain('hold_past_expiry');
    expect(fixture.workload.orderIds.length).toBeGreaterThan(0);
  });

  const append = (stream: string, ...events: { type: string; data: Record<string, unknown> }[]) =>
    fixture.subject.store.appendToStream(stream, events as NewEvent[]);

  const inventory = async (capacity: number) => {
    const ticketTypeId = randomUUID();
    await append(`inventory-${ticketTypeId}`, {
      type: 'InventoryInitialized',
      data: {
        ticketTypeId,
        showId: randomUUID(),
        capacity,
        maxPerCustomer: 10,
        holdSeconds: 60,
        salesOpenAt: t0.toISOString(),
        initializedAt: t0.toISOString(),
      },
    });
    return ticketTypeId;
  };
  const reserved = (reservationId: string, quantity: number, expiresAt = at(60)) => ({
    type: 'SeatsReserved',
    data: {
      reservationId,
      customerId: 'c',
      quantity,
      reservedAt: t0.toISOString(),
      expiresAt: expiresAt.toISOString(),
    },
  });
  const order = (
    orderId: string,
    ticketTypeId: string,
    ...then: { type: string; data: Record<string, unknown> }[]
  ) =>
    append(
      `order-${orderId}`,
      {
        type: 'OrderPlaced',
        data: {
          orderId,
          customerId: 'c',
          showId: randomUUID(),
          lines: [{ ticketTypeId, quantity: 1, unitPriceCents: 1000 }],
          totalCents: 1000,
          currency: 'EUR',
          requestHash: 'h',
          placedAt: t0.toISOString(),
        },
      },
      {
        type: 'OrderReserved',
        data: { orderId, expiresAt: at(60).toISOString(), reservedAt: t0.toISOString() },
      },
      ...then,
    );
  const paid = (orderId: string, attemptId: string) => [
    {
      type: 'PaymentRequested',
      data: {
        orderId,
        attemptId,
        idempotencyKey: attemptId,
        requestHash: 'h',
        amountCents: 1000,
        currency: 'EUR',
        requestedAt: at(5).toISOString(),
      },
    },
    {
      type: 'PaymentSucceeded',
      data: {
        orderId,
        attemptId,
        chargeId: `ch_${attemptId}`,
        amountCents: 1000,
        succeededAt: at(6).toISOString(),
      },
    },
  ];

  it('catches every kind of violation written straight to the store', async () => {
    // Oversold: two seats reserved of one.
    const oversold = await inventory(1);
    await append(`inventory-${oversold}`, reserved('r-over', 2));
    // A commit after a release.
    const illegal = await inventory(5);
    await append(
      `inventory-${illegal}`,
      reserved('r-twice', 1),
      {
        type: 'ReservationReleased',
        data: {
          reservationId: 'r-twice',
          customerId: 'c',
          quantity: 1,
          reason: 'cancelled',
          releasedAt: at(2).toISOString(),
        },
      },
      {
        type: 'ReservationCommitted',
        data: { reservationId: 'r-twice', customerId: 'c', quantity: 1, committedAt: at(3).toISOString() },
      },
    );
    // Confirmed with no payment at all.
    const unpaid = randomUUID();
    const tt = await inventory(5);
    await append(`inventory-${tt}`, reserved(unpaid, 1), {
      type: 'ReservationCommitted',
      data: { reservationId: unpaid, customerId: 'c', quantity: 1, committedAt: at(3).toISOString() },
    });
    await order(unpaid, tt, {
      type: 'OrderConfirmed',
      data: { orderId: unpaid, confirmedAt: at(7).toISOString() },
    });
    // Charged twice, on two attempts, for an order that was confirmed.
    const twice = randomUUID();
    await append(`inventory-${tt}`, reserved(twice, 1), {
      type: 'ReservationCommitted',
      data: { reservationId: twice, customerId: 'c', quantity: 1, committedAt: at(7).toISOString() },
    });
    await order(twice, tt);
    await append(`payment-${twice}`, ...paid(twice, 'a1'), ...paid(twice, 'a2'));
    await append(`order-${twice}`, {
      type: 'OrderConfirmed',
      data: { orderId: twice, confirmedAt: at(8).toISOString() },
    });
    // Declined and cancelled, but the seats were never given back.
    const stuck = randomUUID();
    await append(`inventory-${tt}`, reserved(stuck, 1));
    await order(stuck, tt, {
      type: 'OrderCancelled',
      data: { orderId: stuck, reason: 'payment_failed', refunded: false, cancelledAt: at(8).toISOString() },
    });
    // Paid after the order was cancelled, and never refunded (long enough ago to count).
    const late = randomUUID();
    await order(late, tt, {
      type: 'OrderCancelled',
      data: { orderId: late, reason: 'expired', refunded: false, cancelledAt: at(61).toISOString() },
    });
    await append(`payment-${late}`, ...paid(late, 'late-1'));
    // A hold that expired long ago and is still held.
    const forgotten = await inventory(5);
    await append(`inventory-${forgotten}`, reserved('r-forgotten', 1, at(-7200)));
    // An event the inventory schema cannot read.
    const garbled = await inventory(5);
    await append(`inventory-${garbled}`, { type: 'SeatsReserved', data: { reservationId: 'r-garbled' } });
    // The read models say something the log does not.
    await catchUpReadModels();
    await pool().query(
      `UPDATE ${READ_MODEL_SCHEMA}.availability SET sold = sold + 1 WHERE ticket_type_id = $1`,
      [fixture.workload.ticketTypeIds[0]],
    );

    // An hour on: past every hold and every grace for the saga to finish.
    const report = await run(at(3600));
    expect(report.ok).toBe(false);
    expect(found(report, 'conservation', oversold)).toHaveLength(1);
    expect(found(report, 'illegal_transition', illegal)).toHaveLength(1);
    expect(found(report, 'confirmed_not_paid_once', unpaid)).toHaveLength(1);
    expect(found(report, 'double_charge', twice)).toHaveLength(1);
    expect(found(report, 'confirmed_not_paid_once', twice)).toHaveLength(1);
    expect(found(report, 'not_compensated', stuck)).toHaveLength(1);
    expect(found(report, 'not_compensated', late)).toHaveLength(1);
    expect(found(report, 'hold_past_expiry', 'r-forgotten')).toHaveLength(1);
    expect(found(report, 'unreadable_event', garbled)).toHaveLength(1);
    expect(found(report, 'read_model_mismatch', fixture.workload.ticketTypeIds[0]!)).toHaveLength(1);
    expect(report.readModels).toBe('mismatched');
  });
});
