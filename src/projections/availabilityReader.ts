import type pg from 'pg';
import type { AvailabilityCache } from './availabilityCache/availabilityCache.js';
import { type Availability, getAvailability } from './readModels/queries.js';

export type AvailabilitySource = 'cache' | 'postgres';

/**
 * Availability of a show: from the cache when it answers, from the PostgreSQL read model when the
 * cache is down or does not know the show yet. `onCacheError` hears why the cache was passed over.
 */
export const readAvailability = async (
  deps: { cache: AvailabilityCache; pool: pg.Pool; onCacheError?: (error: unknown) => void },
  showId: string,
): Promise<(Availability & { source: AvailabilitySource }) | undefined> => {
  try {
    const figures = await deps.cache.get(showId);
    if (figures)
      return {
        showId,
        asOf: new Date().toISOString(),
        // Ticket type ids give a stable order without asking PostgreSQL on this hot path.
        ticketTypes: [...figures]
          .sort((a, b) => (a.ticketTypeId < b.ticketTypeId ? -1 : 1))
          .map(({ ticketTypeId, capacity, available, reserved, sold }) => ({
            ticketTypeId,
            capacity,
            available,
            reserved,
            sold,
          })),
        source: 'cache',
      };
  } catch (error) {
    deps.onCacheError?.(error);
  }
  const availability = await getAvailability(deps.pool, showId);
  return availability && { ...availability, source: 'postgres' };
};
