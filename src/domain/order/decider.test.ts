import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../../../test/support/deciderSpec.js';
import type { PlaceOrder, ReservationOutcome } from './commands.js';
import { orderDecider } from './decider.js';
import type { OrderEvent } from './events.js';
import { orderIdFor } from './orderId.js';

const spec = deciderSpec(orderDecider);
const orderId = '3e1d7c1a-52b8-5c7e-9d43-1f0f6a7b8c9d';
const showId = '7d1f0a3e-2c44-4f6b-8f1e-6b8a9e2d3c40';
const floor = '0b0c4b4e-7a43-4c53-9b3e-5a1f9f0c2d11';
const balcony = '0b0c4b4e-7a43-4c53-9b3e-5a1f9f0c2d12';
const now = new Date('2026-12-01T10:00:00.000Z');
const at = now.toISOString();
const expiresAt = '2026-12-01T10:10:00.000Z';
const lines = [
  { ticketTypeId: floor, quantity: 2, unitPriceCents: 4500 },
  { ticketTypeId: balcony, quantity: 1, unitPriceCents: 3000 },
];

const place = (outcome: ReservationOutcome, change: Partial<PlaceOrder['data']> = {}): PlaceOrder => ({
  type: 'PlaceOrder',
  data: {
    orderId,
    customerId: 'alice',
    showId,
    lines,
    currency: 'EUR',
    requestHash: 'h1',
    outcome,
    now,
    ...change,
  },
});
const placed: OrderEvent = {
  type: 'OrderPlaced',
  data: {
    orderId,
    customerId: 'alice',
    showId,
    lines,
    totalCents: 12000,
    currency: 'EUR',
    requestHash: 'h1',
    placedAt: at,
  },
};
const reservedEvent: OrderEvent = { type: 'OrderReserved', data: { orderId, expiresAt, reservedAt: at } };
const confirmed: OrderEvent = { type: 'OrderConfirmed', data: { orderId, confirmedAt: at } };

describe('order decider', () => {
  describe('PlaceOrder', () => {
    it('places a reserved order with its total and hold expiry', () =>
      spec
        .given([])
        .when(place({ status: 'reserved', expiresAt }))
        .thenEmits([placed, reservedEvent]));
    it('records a rejected order with the inventory reason', () =>
      spec
        .given([])
        .when(place({ status: 'rejected', reason: 'sold_out' }))
        .thenEmits([
          placed,
          { type: 'OrderRejected', data: { orderId, reason: 'sold_out', rejectedAt: at } },
        ]));
    it('refuses to place an order twice', () =>
      spec
        .given([placed, reservedEvent])
        .when(place({ status: 'reserved', expiresAt }))
        .thenRejects('order_already_placed'));
    it('refuses no lines, more than ten lines, and a ticket type on two lines', () => {
      spec
        .given([])
        .when(place({ status: 'reserved', expiresAt }, { lines: [] }))
        .thenRejects('invalid_order');
      const eleven = Array.from({ length: 11 }, (_, i) => ({
        ticketTypeId: `0b0c4b4e-7a43-4c53-9b3e-${String(i).padStart(12, '0')}`,
        quantity: 1,
        unitPriceCents: 100,
      }));
      spec
        .given([])
        .when(place({ status: 'reserved', expiresAt }, { lines: eleven }))
        .thenRejects('invalid_order');
      spec
        .given([])
        .when(place({ status: 'reserved', expiresAt }, { lines: [lines[0]!, lines[0]!] }))
        .thenRejects('invalid_order');
    });
    it('refuses a quantity below one', () =>
      spec
        .given([])
        .when(
          place(
            { status: 'reserved', expiresAt },
            { lines: [{ ticketTypeId: floor, quantity: 0, unitPriceCents: 1 }] },
          ),
        )
        .thenRejects('invalid_order'));
  });

  describe('ConfirmOrder', () => {
    const confirm = { type: 'ConfirmOrder' as const, data: { now } };
    it('confirms a reserved order', () =>
      spec.given([placed, reservedEvent]).when(confirm).thenEmits([confirmed]));
    it('refuses to confirm an order that is not reserved', () => {
      spec.given([placed, reservedEvent, confirmed]).when(confirm).thenRejects('order_not_reserved');
      spec
        .given([placed, { type: 'OrderRejected', data: { orderId, reason: 'sold_out', rejectedAt: at } }])
        .when(confirm)
        .thenRejects('order_not_reserved');
    });
    it('refuses an unknown order', () => spec.given([]).when(confirm).thenRejects('order_not_found'));
  });

  describe('CancelOrder', () => {
    it('cancels a reserved order with reason and refund flag', () =>
      spec
        .given([placed, reservedEvent])
        .when({ type: 'CancelOrder', data: { reason: 'expired', refunded: true, now } })
        .thenEmits([
          { type: 'OrderCancelled', data: { orderId, reason: 'expired', refunded: true, cancelledAt: at } },
        ]));
    it('refuses to cancel once confirmed, or twice', () => {
      const cancel = {
        type: 'CancelOrder' as const,
        data: { reason: 'customer_cancelled' as const, refunded: false, now },
      };
      spec.given([placed, reservedEvent, confirmed]).when(cancel).thenRejects('order_not_cancellable');
      spec
        .given([
          placed,
          reservedEvent,
          { type: 'OrderCancelled', data: { orderId, reason: 'expired', refunded: false, cancelledAt: at } },
        ])
        .when(cancel)
        .thenRejects('order_not_cancellable');
    });
  });

  describe('order id', () => {
    it('is the same for the same customer and key, and differs otherwise', () => {
      expect(orderIdFor('alice', 'k1')).toBe(orderIdFor('alice', 'k1'));
      expect(orderIdFor('alice', 'k1')).not.toBe(orderIdFor('alice', 'k2'));
      expect(orderIdFor('alice', 'k1')).not.toBe(orderIdFor('bob', 'k1'));
      // The customer id's length is part of the name, so ids cannot run into keys.
      expect(orderIdFor('a:b', 'c')).not.toBe(orderIdFor('a', 'b:c'));
    });
  });
});
