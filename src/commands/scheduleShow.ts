import { inventoryDecider, inventoryStreamName } from '../domain/inventory/decider.js';
import { showDecider, showStreamName } from '../domain/show/decider.js';
import type { TicketType } from '../domain/show/events.js';
import type { EventStore } from '../eventstore/eventStore.js';
import { handleCommand } from './handleCommand.js';
import { loadAggregate } from './loadAggregate.js';
import { refuse, succeed, type UseCaseResult } from './result.js';
import type { ShowDetails } from './showCatalog.js';

export type ScheduleShowInput = {
  showId: string;
  name: string;
  venue: string;
  startsAt: string;
  /** Default: now. */
  salesOpenAt?: string;
  currency: string;
  holdSeconds: number;
  ticketTypes: TicketType[];
  now: Date;
};

export type ScheduleShowCode = 'invalid_show' | 'show_already_scheduled' | 'ticket_type_taken';

/**
 * Writes `show-{id}`, then one `inventory-{ticketTypeId}` per ticket type. Both steps are
 * idempotent, so a retry after a failure part way completes the show without duplicating it.
 */
export const scheduleShow = async (
  store: EventStore,
  input: ScheduleShowInput,
): Promise<UseCaseResult<ShowDetails, ScheduleShowCode>> => {
  // Without a given opening time sales open now; a retry keeps the time the first try chose.
  const existing = await loadAggregate(store, showDecider, showStreamName(input.showId));
  const salesOpenAt =
    input.salesOpenAt ??
    (existing.state.status === 'scheduled' ? existing.state.show.salesOpenAt : input.now.toISOString());
  const scheduled = await handleCommand(store, showDecider, showStreamName(input.showId), {
    type: 'ScheduleShow',
    data: { ...input, salesOpenAt },
  });
  if (!scheduled.ok) {
    const { code, message } = scheduled.error;
    return refuse(code === 'show_already_scheduled' ? code : 'invalid_show', message);
  }
  if (scheduled.state.status !== 'scheduled') throw new Error('a scheduled show reads as unscheduled');
  const show = scheduled.state.show;
  for (const ticketType of show.ticketTypes) {
    const initialized = await handleCommand(
      store,
      inventoryDecider,
      inventoryStreamName(ticketType.ticketTypeId),
      {
        type: 'InitializeInventory',
        data: {
          ticketTypeId: ticketType.ticketTypeId,
          showId: show.showId,
          capacity: ticketType.capacity,
          maxPerCustomer: ticketType.maxPerCustomer,
          holdSeconds: show.holdSeconds,
          salesOpenAt: show.salesOpenAt,
          now: input.now,
        },
      },
    );
    if (!initialized.ok)
      return refuse('ticket_type_taken', `ticket type ${ticketType.ticketTypeId} belongs to another show`);
  }
  return succeed(show);
};
