import { randomUUID } from 'node:crypto';
import { cancelOrder } from '../../src/commands/cancelOrder.js';
import { PaymentUnavailableError, payOrder } from '../../src/commands/payOrder.js';
import { placeOrder } from '../../src/commands/placeOrder.js';
import { closeSales } from '../../src/commands/showSales.js';
import { at, type Harness, t0 } from './purchaseHarness.js';

export type Workload = { showIds: string[]; ticketTypeIds: string[]; orderIds: string[] };

/**
 * A deterministic mix of what a sale sees: confirmed, declined, cancelled, still reserved and
 * rejected orders, a gateway error retried, and a show whose sales closed. Holds last 60 s.
 */
export const runMixedWorkload = async (h: Harness, orders = 36): Promise<Workload> => {
  const first = await h.newShow(
    [
      { capacity: 40, priceCents: 4500, maxPerCustomer: 4 },
      { capacity: 30, priceCents: 2500 },
    ],
    60,
  );
  const second = await h.newShow([{ capacity: 20, priceCents: 9900, maxPerCustomer: 2 }], 60);
  const ticketTypeIds = [...first.ticketTypeIds, ...second.ticketTypeIds];
  const orderIds: string[] = [];
  for (let i = 0; i < orders; i++) {
    const customerId = `customer-${i % 7}`;
    const onFirst = i % 3 !== 2;
    const showId = onFirst ? first.showId : second.showId;
    const lines = onFirst
      ? [
          { ticketTypeId: first.ticketTypeIds[0]!, quantity: 1 + (i % 2) },
          ...(i % 4 === 0 ? [{ ticketTypeId: first.ticketTypeIds[1]!, quantity: 2 }] : []),
        ]
      : [{ ticketTypeId: second.ticketTypeIds[0]!, quantity: i % 5 === 0 ? 3 : 1 }];
    const placed = await placeOrder(h.ctx, {
      customerId,
      idempotencyKey: randomUUID(),
      request: { showId, lines },
      now: at(i),
    });
    if (!placed.ok) throw placed.error;
    const orderId = placed.value.order.orderId;
    orderIds.push(orderId);
    if (placed.value.order.status !== 'reserved') continue;
    const pay = (paymentToken: string, key = randomUUID()) =>
      payOrder(h.ctx, { orderId, customerId, idempotencyKey: key, paymentToken, now: at(i + 10) });
    switch (i % 6) {
      case 0:
        await pay('tok_visa');
        break;
      case 1:
        await pay('tok_decline');
        break;
      case 2:
        await cancelOrder(h.ctx, { orderId, customerId, now: at(i + 5) });
        break;
      case 3: {
        // The gateway fails before charging, twice for the same key (the same attempt is
        // requested again), then a new key pays.
        const key = randomUUID();
        for (let attempt = 0; attempt < 2; attempt++)
          await pay('tok_error', key).catch((error: unknown) => {
            if (!(error instanceof PaymentUnavailableError)) throw error;
          });
        await pay('tok_visa');
        break;
      }
      default:
        break; // left reserved
    }
  }
  await closeSales(h.ctx.store, h.ctx.writers, second.showId, at(orders + 1));
  return { showIds: [first.showId, second.showId], ticketTypeIds, orderIds };
};

export { t0 };
