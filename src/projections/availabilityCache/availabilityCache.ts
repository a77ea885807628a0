/** Figures of one ticket type as of one position in `$all`. */
export type TicketTypeFigures = {
  ticketTypeId: string;
  capacity: number;
  available: number;
  reserved: number;
  sold: number;
  position: string;
};

/** One event's effect on a ticket type: set up its capacity, or move seats between the counts. */
export type FiguresChange =
  | { kind: 'initialized'; position: string; capacity: number }
  | { kind: 'moved'; position: string; available: number; reserved: number; sold: number };

export type AvailabilityChanged = TicketTypeFigures & { showId: string };

/**
 * Per-show availability kept for fast reads and a change feed. Every change carries its event's
 * position and is applied only if newer than what the cache holds, so a replay, or a second
 * writer, can never move the figures backwards or count a change twice.
 */
export interface AvailabilityCache {
  /** Applies the changes newer than the ticket type's figures, in order; publishes if any was. */
  apply(showId: string, ticketTypeId: string, changes: readonly FiguresChange[]): Promise<void>;
  /** The show a ticket type belongs to, as recorded when its inventory was initialized here. */
  showOf(ticketTypeId: string): Promise<string | undefined>;
  rememberShow(ticketTypeId: string, showId: string): Promise<void>;
  get(showId: string): Promise<TicketTypeFigures[] | undefined>;
  /** Hears every change, from any process writing to the same cache. */
  subscribe(listener: (change: AvailabilityChanged) => void): Promise<() => Promise<void>>;
  /** Forgets everything, for a rebuild. */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/** Applies changes to figures the way both implementations must: newer positions only, in order. */
export const applyChanges = (
  current: TicketTypeFigures | undefined,
  ticketTypeId: string,
  changes: readonly FiguresChange[],
): TicketTypeFigures | undefined => {
  let figures = current ?? { ticketTypeId, capacity: 0, available: 0, reserved: 0, sold: 0, position: '' };
  let initialized = current !== undefined;
  let changed = false;
  for (const change of changes) {
    if (change.position <= figures.position) continue;
    // Seats moving on a ticket type not initialized here (a cleared cache) would count from zero.
    if (change.kind === 'moved' && !initialized) continue;
    initialized = true;
    changed = true;
    figures =
      change.kind === 'initialized'
        ? {
            ticketTypeId,
            capacity: change.capacity,
            available: change.capacity,
            reserved: 0,
            sold: 0,
            position: change.position,
          }
        : {
            ...figures,
            available: figures.available + change.available,
            reserved: figures.reserved + change.reserved,
            sold: figures.sold + change.sold,
            position: change.position,
          };
  }
  return changed ? figures : undefined;
};

/** The cache could not be reached in time; the API answers 503 for what cannot fall back. */
export class AvailabilityCacheUnavailableError extends Error {
  override readonly name = 'AvailabilityCacheUnavailableError';
}
