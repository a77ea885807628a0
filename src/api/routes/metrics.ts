import type { FastifyPluginAsync } from 'fastify';
import { NOTIFICATIONS } from '../../notifications/notificationReactor.js';
import { readProcessCheckpoint } from '../../process/purchaseProcessManager.js';
import { AVAILABILITY_CACHE } from '../../projections/availabilityCache/availabilityCacheProjection.js';
import { readCheckpoint } from '../../projections/checkpoints.js';
import { statusAt } from '../../projections/projectionStatus.js';
import { READ_MODELS } from '../../projections/readModels/readModelProjection.js';
import type { ApiContext } from '../app.js';

/** Prometheus scrape endpoint; projection lag is measured at scrape time, from the checkpoints. */
export const metricsRoutes: FastifyPluginAsync<ApiContext> = async (app, deps) => {
  const groups = [
    { group: READ_MODELS, from: () => readCheckpoint(deps.pool, READ_MODELS) },
    { group: AVAILABILITY_CACHE, from: () => readCheckpoint(deps.pool, AVAILABILITY_CACHE) },
    { group: NOTIFICATIONS, from: () => readCheckpoint(deps.pool, NOTIFICATIONS) },
    { group: 'purchase-process', from: () => readProcessCheckpoint(deps.pool) },
  ];
  app.get(
    '/metrics',
    {
      config: { rateLimit: false },
      schema: {
        tags: ['operations'],
        description:
          'Prometheus text format: request latency, holds, conflicts, retries, batch sizes, lag per group.',
        produces: ['text/plain'],
      },
    },
    async (request, reply) => {
      const now = deps.clock();
      await Promise.all(
        groups.map(async ({ group, from }) => {
          try {
            const status = await statusAt(deps.store, group, await from(), { now });
            deps.metrics.projectionLagEvents.set({ group }, status.eventsBehind);
            deps.metrics.projectionLagSeconds.set({ group }, status.secondsBehind);
          } catch (error) {
            // The other metrics are still worth a scrape when the database is away.
            request.log.warn({ err: error, group }, 'projection lag unavailable');
          }
        }),
      );
      return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    },
  );
};
