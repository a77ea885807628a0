import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { readAvailability } from '../../projections/availabilityReader.js';
import { getShow, listShows } from '../../projections/readModels/queries.js';
import type { ApiContext } from '../app.js';
import { ProblemError, problemSchema } from '../problem.js';
import { pageQuerySchema, pageSchema } from '../schemas/page.js';
import { availabilitySchema, showParamsSchema, showSchema, showSummarySchema } from '../schemas/show.js';

/** The public catalog: shows, one show, and its availability (from the cache, PostgreSQL as fallback). */
export const catalogRoutes: FastifyPluginAsync<ApiContext> = async (app, deps) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/shows',
    {
      schema: {
        tags: ['catalog'],
        querystring: pageQuerySchema,
        response: {
          200: pageSchema(showSummarySchema),
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
        params: showParamsSchema,
        response: { 200: showSchema, 400: problemSchema, 404: problemSchema },
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
        params: showParamsSchema,
        response: { 200: availabilitySchema, 400: problemSchema, 404: problemSchema },
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
