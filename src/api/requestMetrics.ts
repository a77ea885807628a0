import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../platform/metrics/metrics.js';

/** Times every request by its route pattern (not its URL, which would make one series per id). */
export const registerRequestMetrics = (app: FastifyInstance, metrics: Metrics): void => {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
};
