import { inventoryEventSchema } from '../../domain/inventory/events.js';
import type { RecordedEvent } from '../../eventstore/eventStore.js';
import { streamCategory, streamId } from '../../eventstore/streamName.js';
import type { Projection } from '../projection.js';
import type { AvailabilityCache, FiguresChange } from './availabilityCache.js';

export const AVAILABILITY_CACHE = 'availability-cache';

const changeOf = (event: RecordedEvent): FiguresChange | undefined => {
  const parsed = inventoryEventSchema.safeParse(event);
  if (!parsed.success) return undefined;
  const e = parsed.data;
  const position = event.position;
  switch (e.type) {
    case 'InventoryInitialized':
      return { kind: 'initialized', position, capacity: e.data.capacity };
    case 'SeatsReserved':
      return { kind: 'moved', position, available: -e.data.quantity, reserved: e.data.quantity, sold: 0 };
    case 'ReservationCommitted':
      return { kind: 'moved', position, available: 0, reserved: -e.data.quantity, sold: e.data.quantity };
    case 'ReservationReleased':
      return { kind: 'moved', position, available: e.data.quantity, reserved: -e.data.quantity, sold: 0 };
    default:
      return undefined;
  }
};

/**
 * Keeps the availability cache from the inventory events: one guarded update per ticket type per
 * batch. The cache is not in a transaction with its checkpoint; its position guard makes a batch
 * applied again after a crash change nothing.
 */
export const availabilityCacheProjection = (cache: AvailabilityCache): Projection => ({
  name: AVAILABILITY_CACHE,
  transactional: false,
  apply: async (_tx, events) => {
    const byTicketType = new Map<string, FiguresChange[]>();
    for (const event of events) {
      if (streamCategory(event.streamName) !== 'inventory') continue;
      const change = changeOf(event);
      if (!change) continue;
      const ticketTypeId = streamId(event.streamName);
      if (event.type === 'InventoryInitialized')
        await cache.rememberShow(ticketTypeId, (event.data as { showId: string }).showId);
      const changes = byTicketType.get(ticketTypeId) ?? [];
      changes.push(change);
      byTicketType.set(ticketTypeId, changes);
    }
    for (const [ticketTypeId, changes] of byTicketType) {
      // A ticket type whose initialization this cache never saw (it was cleared, or lost its data):
      // nothing to add to. Reads of its show fall back to PostgreSQL until a rebuild.
      const showId = await cache.showOf(ticketTypeId);
      if (showId) await cache.apply(showId, ticketTypeId, changes);
    }
  },
});
