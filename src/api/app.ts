import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { PurchaseContext } from '../commands/purchaseContext.js';
import type { EventStore } from '../eventstore/eventStore.js';
import type { Logger } from '../platform/logger.js';
import { Metrics } from '../platform/metrics/metrics.js';
import type { AvailabilityCache } from '../projections/availabilityCache/availabilityCache.js';
import { registerAuthentication } from './auth/authentication.js';
import { AvailabilityFeed } from './availabilityFeed.js';
import { registerErrorHandling } from './errorHandler.js';
import { registerGracefulClose } from './gracefulClose.js';
import { ProblemError, problem } from './problem.js';
import { registerRequestMetrics } from './requestMetrics.js';
import { adminRoutes } from './routes/admin.js';
import { authRoutes } from './routes/auth.js';
import { availabilityStreamRoutes } from './routes/availabilityStream.js';
import { catalogRoutes } from './routes/catalog.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { notificationRoutes } from './routes/notifications.js';
import { orderRoutes } from './routes/orders.js';
import { webhookRoutes } from './routes/webhooks.js';
import { registerSecurityHeaders } from './securityHeaders.js';

export type RateLimits = {
  /** Requests per client IP per window on every route but health and metrics; 0 turns it off. */
  perIp: number;
  /** Orders placed per customer per window; 0 turns it off. */
  ordersPerCustomer: number;
  /** Logins and sign-ups per client IP per window (each costs a scrypt hash); 0 turns it off. */
  authPerIp: number;
  /** Availability streams one client IP may hold open at once; 0 turns it off. */
  streamsPerIp: number;
  windowMs: number;
};

export type ApiDeps = {
  pool: pg.Pool;
  store: EventStore;
  cache: AvailabilityCache;
  /** Whether `cache` is shared (Redis), for the readiness check. */
  cacheIsShared: boolean;
  purchase: PurchaseContext;
  /** HS256 key for bearer tokens, at least 32 characters. */
  jwtSecret: string;
  tokenTtlSeconds?: number;
  metrics?: Metrics;
  /** The configuration's defaults (RATE_LIMIT_*) are the product's; tests turn them off. */
  rateLimits: RateLimits;
  /** Shares rate-limit counters between API processes; in-process counters without it. */
  redis?: Redis;
  /** Prefix of the rate-limit keys in Redis (default `flashtix:`). */
  redisPrefix?: string;
  /** Origins allowed to call from browsers; `*` for any. None: CORS stays off. */
  corsOrigins?: string[];
  /** Trust X-Forwarded-For from any proxy (true) or these addresses/CIDRs, so limits see the client. */
  trustProxy?: boolean | string;
  clock?: () => Date;
  logger?: Logger;
  /** Largest accepted body (default 64 KiB). */
  bodyLimit?: number;
  /** Heartbeat of the availability stream (default 15 s). */
  streamHeartbeatMs?: number;
};

/** What the route plugins get: the dependencies with every default filled in. */
export type ApiContext = ApiDeps & {
  clock: () => Date;
  metrics: Metrics;
  limitOrdersPerCustomer: ((request: FastifyRequest) => Promise<void>) | undefined;
  rateLimits: RateLimits;
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
    trustProxy: deps.trustProxy ?? false,
    // Errors before routing (a malformed URL) are problems too.
    frameworkErrors: (error, _request, reply) =>
      void (reply as unknown as FastifyReply)
        .code(400)
        .type('application/problem+json')
        .send(problem(400, 'validation_failed', error.message)),
  }).withTypeProvider<ZodTypeProvider>();
  // JSON only: without this, text/plain bodies would be parsed as strings and fail validation.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  const metrics = deps.metrics ?? new Metrics();
  registerRequestMetrics(app, metrics);
  registerGracefulClose(app);

  registerSecurityHeaders(app, {
    // Swagger UI sets a policy of its own for its pages; this API answers JSON only.
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  });
  if (deps.corsOrigins && deps.corsOrigins.length > 0)
    await app.register(cors, {
      origin: deps.corsOrigins.includes('*') ? '*' : deps.corsOrigins,
      exposedHeaders: ['idempotent-replayed', 'location', 'retry-after', 'x-request-id'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
      maxAge: 600,
    });

  const limits = deps.rateLimits;
  const tooMany = (_request: FastifyRequest, context: { after: string }) =>
    new ProblemError(429, 'rate_limited', `too many requests; try again in ${context.after}`);
  await app.register(rateLimit, {
    global: limits.perIp > 0,
    max: Math.max(1, limits.perIp),
    timeWindow: limits.windowMs,
    ...(deps.redis ? { redis: deps.redis, nameSpace: `${deps.redisPrefix ?? 'flashtix:'}rate-limit:` } : {}),
    // A rate-limit store that is down should not take the API down with it.
    skipOnError: true,
    errorResponseBuilder: tooMany,
  });
  const customerLimit =
    limits.ordersPerCustomer > 0
      ? app.createRateLimit({
          max: limits.ordersPerCustomer,
          timeWindow: limits.windowMs,
          keyGenerator: (request) => `customer:${request.user.customerId}`,
        })
      : undefined;
  const limitOrdersPerCustomer = customerLimit
    ? async (request: FastifyRequest) => {
        const verdict = await customerLimit(request);
        if (verdict.isAllowed || !verdict.isExceeded) return;
        throw new ProblemError(429, 'rate_limited', 'too many orders from this account; try again shortly', {
          'retry-after': String(verdict.ttlInSeconds),
        });
      }
    : undefined;

  await registerAuthentication(app, { jwtSecret: deps.jwtSecret, tokenTtlSeconds: deps.tokenTtlSeconds });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'FlashTix',
        version: '1',
        description: 'Flash ticket sales: catalog, availability, orders and payments.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  const context: ApiContext = {
    ...deps,
    clock: deps.clock ?? (() => new Date()),
    metrics,
    limitOrdersPerCustomer,
    rateLimits: limits,
  };
  const feed = new AvailabilityFeed(deps.cache);
  app.addHook('onClose', () => feed.close());
  await app.register(healthRoutes, context);
  await app.register(metricsRoutes, context);
  await app.register(authRoutes, context);
  await app.register(catalogRoutes, context);
  await app.register(availabilityStreamRoutes, {
    ...context,
    feed,
    heartbeatMs: deps.streamHeartbeatMs,
    streamsPerIp: limits.streamsPerIp,
  });
  await app.register(orderRoutes, context);
  await app.register(notificationRoutes, context);
  await app.register(adminRoutes, context);
  await app.register(webhookRoutes, context);
  return app;
};
