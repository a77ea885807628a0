import { accept, type Decider, type Decision, instant, reject } from '../decider.js';
import type { ScheduleShow, ShowCommand } from './commands.js';
import { type ShowEvent, type ShowScheduled, showEventSchema } from './events.js';

export type ShowErrorCode = 'invalid_show' | 'show_already_scheduled' | 'show_not_found';

export type ShowState =
  | { status: 'unscheduled' }
  | { status: 'scheduled'; show: ShowScheduled['data']; salesOpenAt: string; salesClosed: boolean };

export const MAX_TICKET_TYPES = 50;
export const MAX_CAPACITY = 1_000_000;
export const MAX_HOLD_SECONDS = 86_400;

// Times are recorded in UTC as four-digit years; outside this range they would not read back.
const EARLIEST = '1970-01-01T00:00:00.000Z';
const LATEST = '9999-12-31T23:59:59.999Z';
const inRecordableRange = (time: string): boolean => {
  const at = instant(time);
  return !Number.isNaN(at) && at >= instant(EARLIEST) && at <= instant(LATEST);
};

const invalidShowReason = ({ data }: ScheduleShow): string | undefined => {
  if (data.ticketTypes.length < 1 || data.ticketTypes.length > MAX_TICKET_TYPES)
    return `a show needs 1 to ${MAX_TICKET_TYPES} ticket types`;
  if (new Set(data.ticketTypes.map((t) => t.ticketTypeId)).size !== data.ticketTypes.length)
    return 'ticket type ids must be distinct';
  for (const t of data.ticketTypes) {
    if (!Number.isInteger(t.capacity) || t.capacity < 1 || t.capacity > MAX_CAPACITY)
      return `capacity of ${t.ticketTypeId} must be an integer from 1 to ${MAX_CAPACITY}`;
    if (!Number.isInteger(t.maxPerCustomer) || t.maxPerCustomer < 1)
      return `maxPerCustomer of ${t.ticketTypeId} must be a positive integer`;
    if (!Number.isInteger(t.priceCents) || t.priceCents < 0)
      return `priceCents of ${t.ticketTypeId} must be a non-negative integer`;
  }
  if (!Number.isInteger(data.holdSeconds) || data.holdSeconds < 1 || data.holdSeconds > MAX_HOLD_SECONDS)
    return `holdSeconds must be an integer from 1 to ${MAX_HOLD_SECONDS}`;
  if (!inRecordableRange(data.startsAt) || !inRecordableRange(data.salesOpenAt))
    return `startsAt and salesOpenAt must be ISO 8601 times from ${EARLIEST} to ${LATEST}`;
  if (instant(data.salesOpenAt) > instant(data.startsAt)) return 'sales must open before the show starts';
  return undefined;
};

/** The parts of a schedule that a retried ScheduleShow must repeat exactly. */
const scheduleFingerprint = (show: Omit<ShowScheduled['data'], 'scheduledAt'>): string =>
  JSON.stringify([
    show.name,
    show.venue,
    instant(show.startsAt),
    instant(show.salesOpenAt),
    show.currency,
    show.holdSeconds,
    show.ticketTypes,
  ]);

const decide = (command: ShowCommand, state: ShowState): Decision<ShowEvent, ShowErrorCode> => {
  switch (command.type) {
    case 'ScheduleShow': {
      const { now, ...show } = command.data;
      if (state.status === 'scheduled') {
        return scheduleFingerprint(state.show) === scheduleFingerprint(show)
          ? accept()
          : reject('show_already_scheduled', `show ${show.showId} is already scheduled with other details`);
      }
      const invalid = invalidShowReason(command);
      if (invalid) return reject('invalid_show', invalid);
      // Times are recorded in one canonical form (UTC, with milliseconds), whatever offset they came with.
      const canonical = (time: string) => new Date(instant(time)).toISOString();
      return accept({
        type: 'ShowScheduled',
        data: {
          ...show,
          startsAt: canonical(show.startsAt),
          salesOpenAt: canonical(show.salesOpenAt),
          scheduledAt: now.toISOString(),
        },
      });
    }
    case 'OpenShowSales': {
      if (state.status !== 'scheduled')
        return reject('show_not_found', `show ${command.data.showId} does not exist`);
      const alreadyOpen = !state.salesClosed && instant(state.salesOpenAt) <= command.data.now.getTime();
      if (alreadyOpen) return accept();
      return accept({
        type: 'SalesOpened',
        data: { showId: command.data.showId, openedAt: command.data.now.toISOString() },
      });
    }
    case 'CloseShowSales': {
      if (state.status !== 'scheduled')
        return reject('show_not_found', `show ${command.data.showId} does not exist`);
      if (state.salesClosed) return accept();
      return accept({
        type: 'SalesClosed',
        data: { showId: command.data.showId, closedAt: command.data.now.toISOString() },
      });
    }
  }
};

const evolve = (state: ShowState, event: ShowEvent): ShowState => {
  switch (event.type) {
    case 'ShowScheduled':
      return {
        status: 'scheduled',
        show: event.data,
        salesOpenAt: event.data.salesOpenAt,
        salesClosed: false,
      };
    case 'SalesOpened':
      if (state.status !== 'scheduled') return state;
      return {
        ...state,
        salesClosed: false,
        salesOpenAt:
          instant(event.data.openedAt) < instant(state.salesOpenAt) ? event.data.openedAt : state.salesOpenAt,
      };
    case 'SalesClosed':
      if (state.status !== 'scheduled') return state;
      return { ...state, salesClosed: true };
  }
};

export const showDecider: Decider<ShowState, ShowCommand, ShowEvent, ShowErrorCode> = {
  decide,
  evolve,
  initialState: () => ({ status: 'unscheduled' }),
  parseEvent: (raw) => showEventSchema.parse(raw),
};

export const showStreamName = (showId: string): string => `show-${showId}`;
