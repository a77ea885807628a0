import { describe, it } from 'vitest';
import { deciderSpec } from '../../../test/support/deciderSpec.js';
import type { ScheduleShow } from './commands.js';
import { showDecider } from './decider.js';
import type { ShowEvent } from './events.js';

const spec = deciderSpec(showDecider);
const showId = '7d1f0a3e-2c44-4f6b-8f1e-6b8a9e2d3c40';
const now = new Date('2026-12-01T10:00:00.000Z');
const later = new Date('2026-12-01T11:00:00.000Z');
const ticketType = {
  ticketTypeId: '0b0c4b4e-7a43-4c53-9b3e-5a1f9f0c2d11',
  name: 'Floor',
  priceCents: 4500,
  capacity: 2000,
  maxPerCustomer: 4,
};

const schedule = (change: Partial<ScheduleShow['data']> = {}): ScheduleShow => ({
  type: 'ScheduleShow',
  data: {
    showId,
    name: 'The Flash',
    venue: 'Arena',
    startsAt: '2027-01-10T20:00:00.000Z',
    salesOpenAt: '2026-12-01T12:00:00.000Z',
    currency: 'EUR',
    holdSeconds: 600,
    ticketTypes: [ticketType],
    now,
    ...change,
  },
});
const { now: _now, ...details } = schedule().data;
const scheduled: ShowEvent = { type: 'ShowScheduled', data: { ...details, scheduledAt: now.toISOString() } };
const closed: ShowEvent = { type: 'SalesClosed', data: { showId, closedAt: now.toISOString() } };

describe('show decider', () => {
  describe('ScheduleShow', () => {
    it('schedules a show with its ticket types', () =>
      spec.given([]).when(schedule()).thenEmits([scheduled]));
    it('records times with an offset in UTC, as the event schema reads them back', () =>
      spec
        .given([])
        .when(schedule({ startsAt: '2027-01-10T21:00:00+01:00', salesOpenAt: '2026-12-01T13:00:00+01:00' }))
        .thenEmits([scheduled]));
    it('refuses times it could not record as four-digit UTC years', () =>
      spec
        .given([])
        .when(schedule({ startsAt: '9999-12-31T23:59:59-23:59' }))
        .thenRejects('invalid_show'));
    it('refuses sales that open after the show starts', () =>
      spec
        .given([])
        .when(schedule({ salesOpenAt: '2027-01-11T00:00:00.000Z' }))
        .thenRejects('invalid_show'));
    it('is a no-op when retried with the same details, even at another time', () =>
      spec
        .given([scheduled])
        .when(schedule({ now: later }))
        .thenNothingHappens());
    it('refuses other details for a show already scheduled', () =>
      spec
        .given([scheduled])
        .when(schedule({ name: 'Other' }))
        .thenRejects('show_already_scheduled'));
    it('refuses a show without ticket types', () =>
      spec
        .given([])
        .when(schedule({ ticketTypes: [] }))
        .thenRejects('invalid_show'));
    it('refuses more than 50 ticket types', () =>
      spec
        .given([])
        .when(
          schedule({
            ticketTypes: Array.from({ length: 51 }, (_, i) => ({
              ...ticketType,
              ticketTypeId: `0b0c4b4e-7a43-4c53-9b3e-${String(i).padStart(12, '0')}`,
            })),
          }),
        )
        .thenRejects('invalid_show'));
    it('refuses duplicate ticket type ids', () =>
      spec
        .given([])
        .when(schedule({ ticketTypes: [ticketType, ticketType] }))
        .thenRejects('invalid_show'));
    it('refuses a capacity outside 1..1,000,000', () => {
      spec
        .given([])
        .when(schedule({ ticketTypes: [{ ...ticketType, capacity: 0 }] }))
        .thenRejects('invalid_show');
      spec
        .given([])
        .when(schedule({ ticketTypes: [{ ...ticketType, capacity: 1_000_001 }] }))
        .thenRejects('invalid_show');
    });
    it('refuses a hold outside 1..86,400 seconds', () =>
      spec
        .given([])
        .when(schedule({ holdSeconds: 0 }))
        .thenRejects('invalid_show'));
    it('refuses a negative price and a zero purchase limit', () => {
      spec
        .given([])
        .when(schedule({ ticketTypes: [{ ...ticketType, priceCents: -1 }] }))
        .thenRejects('invalid_show');
      spec
        .given([])
        .when(schedule({ ticketTypes: [{ ...ticketType, maxPerCustomer: 0 }] }))
        .thenRejects('invalid_show');
    });
  });

  describe('sales', () => {
    it('opens sales early', () =>
      spec
        .given([scheduled])
        .when({ type: 'OpenShowSales', data: { showId, now } })
        .thenEmits([{ type: 'SalesOpened', data: { showId, openedAt: now.toISOString() } }]));
    it('reopens closed sales', () =>
      spec
        .given([scheduled, closed])
        .when({ type: 'OpenShowSales', data: { showId, now: later } })
        .thenEmits([{ type: 'SalesOpened', data: { showId, openedAt: later.toISOString() } }]));
    it('is a no-op to open sales that are open', () =>
      spec
        .given([scheduled])
        .when({ type: 'OpenShowSales', data: { showId, now: new Date('2026-12-02T00:00:00.000Z') } })
        .thenNothingHappens());
    it('closes sales, and a second close is a no-op', () => {
      spec.given([scheduled]).when({ type: 'CloseShowSales', data: { showId, now } }).thenEmits([closed]);
      spec
        .given([scheduled, closed])
        .when({ type: 'CloseShowSales', data: { showId, now } })
        .thenNothingHappens();
    });
    it('refuses sales commands for an unknown show', () => {
      spec.given([]).when({ type: 'OpenShowSales', data: { showId, now } }).thenRejects('show_not_found');
      spec.given([]).when({ type: 'CloseShowSales', data: { showId, now } }).thenRejects('show_not_found');
    });
  });
});
