import { inventoryEventSchema } from '../../domain/inventory/events.js';
import { orderEventSchema } from '../../domain/order/events.js';
import { paymentEventSchema } from '../../domain/payment/events.js';
import { showEventSchema } from '../../domain/show/events.js';
import type { RecordedEvent } from '../../eventstore/eventStore.js';
import { type Projection, streamCategory, streamId, type Transaction } from '../projection.js';
import { READ_MODEL_SCHEMA } from '../readModelSchema.js';
import { applyShowEvent } from './catalog.js';
import { applyInventoryEvent } from './inventory.js';
import { applyOrderEvent } from './orders.js';
import { applyPaymentEvent } from './payments.js';

export const READ_MODELS = 'read-models';

/**
 * Every PostgreSQL read model in one projection: shows and ticket types, availability,
 * reservations, orders and payments, kept in one schema so a rebuild can swap them together.
 * Events it does not know (other categories, newer types) are passed over.
 */
export const readModelProjection = (schema: string = READ_MODEL_SCHEMA): Projection => ({
  name: READ_MODELS,
  apply: async (tx: Transaction, events: readonly RecordedEvent[]) => {
    for (const event of events) {
      switch (streamCategory(event.streamName)) {
        case 'show': {
          const parsed = showEventSchema.safeParse(event);
          if (parsed.success) await applyShowEvent(tx, schema, parsed.data);
          break;
        }
        case 'inventory': {
          const parsed = inventoryEventSchema.safeParse(event);
          if (parsed.success)
            await applyInventoryEvent(tx, schema, streamId(event.streamName), parsed.data, event.position);
          break;
        }
        case 'order': {
          const parsed = orderEventSchema.safeParse(event);
          if (parsed.success) await applyOrderEvent(tx, schema, parsed.data, event.createdAt);
          break;
        }
        case 'payment': {
          const parsed = paymentEventSchema.safeParse(event);
          if (parsed.success) await applyPaymentEvent(tx, schema, parsed.data);
          break;
        }
      }
    }
  },
});
