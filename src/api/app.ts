import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type pg from 'pg';
import type { EventStore } from '../eventstore/eventStore.js';
import type { Logger } from '../platform/logger.js';
import type { AvailabilityCache } from '../projections/availabilityCache/availabilityCache.js';
import { registerErrorHandling } from './errorHandler.js';
import { catalogRoutes } from './routes/catalog.js';
import { healthRoutes } from './routes/health.js';

export type ApiDeps = {
  pool: pg.Pool;
  store: EventStore;
  cache: AvailabilityCache;
  /** Whether `cache` is shared (Redis), for the readiness check. */
  cacheIsShared: boolean;
  logger?: Logger;
  /** Largest accepted body (default 64 KiB). */
  bodyLimit?: number;
};

export type Api = FastifyInstance;

/** The FlashTix HTTP API: one plugin per concern, zod schemas for validation and OpenAPI. */
export const buildApi = async (deps: ApiDeps): Promise<FastifyInstance> => {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; saying so keeps the app's type the plain one.
    loggerInstance: deps.logger as FastifyBaseLogger | undefined,
    bodyLimit: deps.bodyLimit ?? 64 * 1024,
    // Request ids let a log line be found from a client's report.
    requestIdHeader: 'x-request-id',
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'FlashTix',
        version: '1',
        description: 'Flash ticket sales: catalog, availability, orders.',
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(healthRoutes, deps);
  await app.register(catalogRoutes, deps);
  return app;
};
