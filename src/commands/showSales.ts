import { type ShowState, showDecider, showStreamName } from '../domain/show/decider.js';
import type { EventStore } from '../eventstore/eventStore.js';
import { handleCommand } from './handleCommand.js';
import type { InventoryWriters } from './inventoryWriters.js';
import { refuse, succeed, type UseCaseResult } from './result.js';

export type ShowSalesCode = 'show_not_found';

type Scheduled = Extract<ShowState, { status: 'scheduled' }>;

/**
 * Opens or closes sales: on the show (what the catalog shows), then on every ticket type's
 * inventory (what reservations obey). Both are idempotent, so a retry completes a partial run.
 */
const setSales = async (
  store: EventStore,
  writers: InventoryWriters,
  showId: string,
  open: boolean,
  now: Date,
): Promise<UseCaseResult<Scheduled, ShowSalesCode>> => {
  const result = await handleCommand(store, showDecider, showStreamName(showId), {
    type: open ? 'OpenShowSales' : 'CloseShowSales',
    data: { showId, now },
  });
  if (!result.ok) return refuse('show_not_found', result.error.message);
  const show = result.state as Scheduled;
  for (const { ticketTypeId } of show.show.ticketTypes) {
    const changed = await writers.send(ticketTypeId, {
      type: open ? 'OpenInventorySales' : 'CloseInventorySales',
      data: { now },
    });
    if (!changed.ok) throw changed.error;
  }
  return succeed(show);
};

export const openSales = (store: EventStore, writers: InventoryWriters, showId: string, now: Date) =>
  setSales(store, writers, showId, true, now);

export const closeSales = (store: EventStore, writers: InventoryWriters, showId: string, now: Date) =>
  setSales(store, writers, showId, false, now);
