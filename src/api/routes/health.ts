import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiContext } from '../app.js';

const check = z.enum(['ok', 'down', 'not_configured']);

/** Liveness (the process answers) and readiness (its dependencies answer). */
export const healthRoutes: FastifyPluginAsync<ApiContext> = async (app, deps) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/health/live',
    {
      config: { rateLimit: false },
      schema: { tags: ['operations'], response: { 200: z.object({ status: z.literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );
  const readiness = z.object({
    status: z.enum(['ok', 'degraded', 'down']),
    checks: z.object({ eventStore: check, postgres: check, redis: check }),
  });
  api.get(
    '/health/ready',
    // Probes come often and from the platform, not from clients: never rate-limited.
    {
      config: { rateLimit: false },
      schema: { tags: ['operations'], response: { 200: readiness, 503: readiness } },
    },
    async (_request, reply) => {
      const probe = async (run: () => Promise<unknown>) => {
        try {
          await run();
          return 'ok' as const;
        } catch {
          return 'down' as const;
        }
      };
      const [postgres, eventStore, redis] = await Promise.all([
        probe(() => deps.pool.query('SELECT 1')),
        probe(() => deps.store.readAll({ from: 'start', maxCount: 1 })),
        deps.cacheIsShared
          ? probe(() => deps.cache.get('00000000-0000-0000-0000-000000000000'))
          : ('not_configured' as const),
      ]);
      // Without Redis reads fall back to PostgreSQL: degraded, still serving.
      const status =
        postgres === 'down' || eventStore === 'down' ? 'down' : redis === 'down' ? 'degraded' : 'ok';
      // Like every 503 here, it says when to look again.
      if (status === 'down') reply.header('retry-after', '5');
      return reply
        .code(status === 'down' ? 503 : 200)
        .send({ status, checks: { eventStore, postgres, redis } });
    },
  );
};
