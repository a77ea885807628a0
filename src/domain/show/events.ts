import { z } from 'zod';

export const ticketTypeSchema = z.object({
  ticketTypeId: z.uuid(),
  name: z.string(),
  priceCents: z.number().int().nonnegative(),
  capacity: z.number().int().positive(),
  maxPerCustomer: z.number().int().positive(),
});
export type TicketType = z.infer<typeof ticketTypeSchema>;

const showScheduled = z.object({
  type: z.literal('ShowScheduled'),
  data: z.object({
    showId: z.uuid(),
    name: z.string(),
    venue: z.string(),
    startsAt: z.iso.datetime(),
    salesOpenAt: z.iso.datetime(),
    currency: z.string(),
    holdSeconds: z.number().int().positive(),
    ticketTypes: z.array(ticketTypeSchema),
    scheduledAt: z.iso.datetime(),
  }),
});

const salesOpened = z.object({
  type: z.literal('SalesOpened'),
  data: z.object({ showId: z.uuid(), openedAt: z.iso.datetime() }),
});

const salesClosed = z.object({
  type: z.literal('SalesClosed'),
  data: z.object({ showId: z.uuid(), closedAt: z.iso.datetime() }),
});

export const showEventSchema = z.discriminatedUnion('type', [showScheduled, salesOpened, salesClosed]);
export type ShowEvent = z.infer<typeof showEventSchema>;
export type ShowScheduled = z.infer<typeof showScheduled>;
