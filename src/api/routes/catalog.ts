import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readAvailability } from '../../projections/availabilityReader.js';
import { getShow, listShows } from '../../projections/readModels/queries.js';
import type { ApiContext } from '../app.js';
import { ProblemError, problemSchema } from '../problem.js';

const showSummary = z.object({
  showId: z.uuid(),
  name: z.string(),
  venue: z.string(),
  startsAt: z.iso.datetime(),
  salesOpenAt: z.iso.datetime(),
  salesClosed: z.boolean(),
  currency: z.string(),
});

const show = showSummary.extend({
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

const availability = z.object({
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

const showParams = z.object({ showId: z.uuid() });

/** The public catalog: shows, one show, and its availability (from the cache, PostgreSQL as fallback). */
export const catalogRoutes: FastifyPluginAsync<ApiContext> = async (app, deps) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/shows',
    {
      schema: {
        tags: ['catalog'],
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(100).default(20),
          cursor: z.string().min(1).max(500).optional(),
        }),
        response: {
          200: z.object({ items: z.array(showSummary), nextCursor: z.string().nullable() }),
          400: problemSchema,
        },
      },
    },
    async (request) => listShows(deps.pool, request.query),
  );
  api.get(
    '/shows/:showId',
    {
      schema: {
        tags: ['catalog'],
        params: showParams,
        response: { 200: show, 400: problemSchema, 404: problemSchema },
      },
    },
    async (request) => {
      const found = await getShow(deps.pool, request.params.showId);
      if (!found) throw new ProblemError(404, 'not_found', `no show ${request.params.showId}`);
      return found;
    },
  );
  api.get(
    '/shows/:showId/availability',
    {
      schema: {
        tags: ['catalog'],
        params: showParams,
        response: { 200: availability, 400: problemSchema, 404: problemSchema },
      },
    },
    async (request) => {
      const found = await readAvailability(
        {
          cache: deps.cache,
          pool: deps.pool,
          onCacheError: (error) =>
            request.log.warn({ err: error }, 'availability cache unavailable; reading PostgreSQL'),
        },
        request.params.showId,
      );
      if (!found) throw new ProblemError(404, 'not_found', `no show ${request.params.showId}`);
      const { source: _source, ...body } = found;
      return body;
    },
  );
};
