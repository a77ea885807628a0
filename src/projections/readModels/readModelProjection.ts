import { inventoryEventSchema } from '../../domain/inventory/events.js';
import { orderEventSchema } from '../../domain/order/events.js';
import { type PaymentEvent, paymentEventSchema } from '../../domain/payment/events.js';
import { type ShowEvent, showEventSchema } from '../../domain/show/events.js';
import type { RecordedEvent } from '../../eventstore/eventStore.js';
import { streamCategory, streamId } from '../../eventstore/streamName.js';
import type { Projection, Transaction } from '../projection.js';
import { READ_MODEL_SCHEMA } from '../readModelSchema.js';
import { applyShowEvent } from './catalog.js';
import { applyInventoryChanges, type InventoryChange } from './inventory.js';
import { applyOrderChanges, type OrderChange } from './orders.js';
import { applyPaymentEvents } from './payments.js';

export const READ_MODELS = 'read-models';

const readModelCategories = ['show', 'inventory', 'order', 'payment'] as const;
export type ReadModelCategory = (typeof readModelCategories)[number];

/**
 * Stream categories whose read models share no table: shows and ticket types with availability
 * and reservations; orders with payments (which write their summaries onto orders). Each part
 * can be applied on a connection of its own.
 */
export const independentReadModelParts: readonly (readonly ReadModelCategory[])[] = [
  ['show', 'inventory'],
  ['order', 'payment'],
];

/**
 * Every PostgreSQL read model in one projection: shows and ticket types, availability,
 * reservations, orders and payments, kept in one schema so a rebuild can swap them together.
 * A batch is sorted by kind and each kind written in a few set-based statements; orders go
 * before payments, whose summaries they carry. Events it does not know are passed over, and
 * so are those outside `categories` when it is given only some.
 */
export const readModelProjection = (
  schema: string = READ_MODEL_SCHEMA,
  categories: readonly ReadModelCategory[] = readModelCategories,
): Projection => ({
  name: READ_MODELS,
  apply: async (tx: Transaction, events: readonly RecordedEvent[]) => {
    const shows: ShowEvent[] = [];
    const inventory: InventoryChange[] = [];
    const orders: OrderChange[] = [];
    const payments: PaymentEvent[] = [];
    for (const event of events) {
      const category = streamCategory(event.streamName);
      if (!(categories as readonly string[]).includes(category)) continue;
      switch (category) {
        case 'show': {
          const parsed = showEventSchema.safeParse(event);
          if (parsed.success) shows.push(parsed.data);
          break;
        }
        case 'inventory': {
          const parsed = inventoryEventSchema.safeParse(event);
          if (parsed.success)
            inventory.push({
              ticketTypeId: streamId(event.streamName),
              position: event.position,
              event: parsed.data,
            });
          break;
        }
        case 'order': {
          const parsed = orderEventSchema.safeParse(event);
          if (parsed.success) orders.push({ event: parsed.data, at: event.createdAt });
          break;
        }
        case 'payment': {
          const parsed = paymentEventSchema.safeParse(event);
          if (parsed.success) payments.push(parsed.data);
          break;
        }
      }
    }
    for (const show of shows) await applyShowEvent(tx, schema, show);
    if (inventory.length > 0) await applyInventoryChanges(tx, schema, inventory);
    if (orders.length > 0) await applyOrderChanges(tx, schema, orders);
    if (payments.length > 0) await applyPaymentEvents(tx, schema, payments);
  },
});
