import { z } from 'zod';
import type { ShowState } from '../../domain/show/decider.js';

export const showSummarySchema = z.object({
  showId: z.uuid(),
  name: z.string(),
  venue: z.string(),
  startsAt: z.iso.datetime(),
  salesOpenAt: z.iso.datetime(),
  salesClosed: z.boolean(),
  currency: z.string(),
});

export const showSchema = showSummarySchema.extend({
  holdSeconds: z.number().int(),
  ticketTypes: z.array(
    z.object({
      ticketTypeId: z.uuid(),
      name: z.string(),
      priceCents: z.number().int(),
      capacity: z.number().int(),
      maxPerCustomer: z.number().int(),
    }),
  ),
});

export type ShowBody = z.infer<typeof showSchema>;

export const availabilitySchema = z.object({
  showId: z.uuid(),
  asOf: z.iso.datetime(),
  ticketTypes: z.array(
    z.object({
      ticketTypeId: z.uuid(),
      capacity: z.number().int(),
      available: z.number().int(),
      reserved: z.number().int(),
      sold: z.number().int(),
    }),
  ),
});

export const showParamsSchema = z.object({ showId: z.uuid() });

const iso = (time: string) => new Date(time).toISOString();

/** A show as the write side has it, in the API's shape. */
export const showBody = (state: Extract<ShowState, { status: 'scheduled' }>): ShowBody => {
  const { showId, name, venue, startsAt, currency, holdSeconds, ticketTypes } = state.show;
  return {
    showId,
    name,
    venue,
    startsAt: iso(startsAt),
    salesOpenAt: iso(state.salesOpenAt),
    salesClosed: state.salesClosed,
    currency,
    holdSeconds,
    ticketTypes,
  };
};
