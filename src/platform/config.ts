import { z } from 'zod';

// An empty variable counts as unset, as shells and compose files often leave them empty.
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const urlWithScheme = (schemes: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return schemes.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${schemes.map((s) => `${s}//`).join(' or ')}`,
  );

const envSchema = z
  .object({
    NODE_ENV: optional(z.enum(['development', 'test', 'production'])).default('development'),
    PORT: optional(z.coerce.number().int().min(0).max(65_535)).default(3000),
    HOST: optional(z.string().min(1)).default('127.0.0.1'),
    DATA_DIR: optional(z.string().min(1)).default('./.flashtix'),
    DATABASE_URL: optional(urlWithScheme(['postgres:', 'postgresql:'])),
    DATABASE_POOL_SIZE: optional(z.coerce.number().int().min(1).max(1000)).default(20),
    EVENT_STORE: optional(z.enum(['postgres', 'esdb'])),
    EVENTSTORE_URL: optional(urlWithScheme(['esdb:', 'esdb+discover:'])),
    REDIS_URL: optional(urlWithScheme(['redis:', 'rediss:'])),
    JWT_SECRET: optional(z.string().min(32, 'must be at least 32 characters')),
    ADMIN_EMAIL: optional(z.email()),
    ADMIN_PASSWORD: optional(z.string().min(8, 'must be at least 8 characters').max(128)),
    LOG_LEVEL: optional(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])).default(
      'info',
    ),
    HOLD_EXPIRY_INTERVAL_MS: optional(z.coerce.number().int().min(10).max(3_600_000)).default(1000),
    PAYMENT_GATEWAY_LATENCY_MS: optional(z.coerce.number().int().min(0).max(60_000)).default(0),
    HOLD_EXPIRY_GRACE_MS: optional(z.coerce.number().int().min(0).max(600_000)).default(2000),
    PAYMENT_SETTLE_MS: optional(z.coerce.number().int().min(1000).max(86_400_000)).default(120_000),
    JWT_TTL_SECONDS: optional(
      z.coerce
        .number()
        .int()
        .min(60)
        .max(30 * 86_400),
    ).default(12 * 3600),
    RATE_LIMIT_WINDOW_MS: optional(z.coerce.number().int().min(1000).max(3_600_000)).default(60_000),
    RATE_LIMIT_PER_IP: optional(z.coerce.number().int().min(0)).default(1200),
    RATE_LIMIT_ORDERS_PER_CUSTOMER: optional(z.coerce.number().int().min(0)).default(30),
    RATE_LIMIT_AUTH_PER_IP: optional(z.coerce.number().int().min(0)).default(30),
    RATE_LIMIT_STREAMS_PER_IP: optional(z.coerce.number().int().min(0)).default(50),
    WEBHOOK_TIMEOUT_MS: optional(z.coerce.number().int().min(100).max(60_000)).default(10_000),
    WEBHOOK_MAX_ATTEMPTS: optional(z.coerce.number().int().min(1).max(50)).default(15),
    WEBHOOK_CONCURRENCY: optional(z.coerce.number().int().min(1).max(1000)).default(32),
    CORS_ORIGINS: optional(z.string()),
    TRUST_PROXY: optional(z.string()),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.JWT_SECRET)
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required when NODE_ENV=production' });
    if (Boolean(env.ADMIN_EMAIL) !== Boolean(env.ADMIN_PASSWORD))
      ctx.addIssue({
        code: 'custom',
        path: [env.ADMIN_EMAIL ? 'ADMIN_PASSWORD' : 'ADMIN_EMAIL'],
        message: 'ADMIN_EMAIL and ADMIN_PASSWORD go together',
      });
    if (env.EVENT_STORE === 'esdb' && !env.EVENTSTORE_URL)
      ctx.addIssue({
        code: 'custom',
        path: ['EVENTSTORE_URL'],
        message: 'is required when EVENT_STORE=esdb',
      });
  });

export type Config = {
  nodeEnv: 'development' | 'test' | 'production';
  port: number;
  host: string;
  dataDir: string;
  /** Unset: FlashTix starts its own embedded PostgreSQL in dataDir. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  eventStore: 'postgres' | 'esdb';
  eventStoreUrl: string | undefined;
  /** Unset: the availability cache lives in the process. */
  redisUrl: string | undefined;
  /** Unset: a secret is generated once and kept in dataDir. */
  jwtSecret: string | undefined;
  admin: { email: string; password: string } | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  holdExpiryIntervalMs: number;
  /** Added to every call of the simulated payment gateway. */
  paymentGatewayLatencyMs: number;
  /** A hold ends this long after its expiry at the earliest: room for clock differences. */
  holdExpiryGraceMs: number;
  /** A payment attempt pending this long is settled from the gateway's books. */
  paymentSettleMs: number;
  jwtTtlSeconds: number;
  rateLimits: {
    perIp: number;
    ordersPerCustomer: number;
    authPerIp: number;
    streamsPerIp: number;
    windowMs: number;
  };
  webhooks: {
    /** How long a receiver has to answer a delivery. */
    timeoutMs: number;
    /** Attempts before a delivery is marked failed. */
    maxAttempts: number;
    /** Deliveries each processor has on the wire at once. */
    concurrency: number;
  };
  /** Browser origins allowed by CORS; empty: CORS off. */
  corsOrigins: string[];
  /** true: trust X-Forwarded-For from any proxy; a string: from these addresses or CIDRs. */
  trustProxy: boolean | string;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
  }
}

/** Reads the environment once; throws a ConfigError naming every bad variable. */
export const loadConfig = (env: Record<string, string | undefined> = process.env): Config => {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? 'environment'),
        message: issue.message,
      })),
    );
  }
  const e = parsed.data;
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    eventStore: e.EVENT_STORE ?? (e.EVENTSTORE_URL ? 'esdb' : 'postgres'),
    eventStoreUrl: e.EVENTSTORE_URL,
    redisUrl: e.REDIS_URL,
    jwtSecret: e.JWT_SECRET,
    admin:
      e.ADMIN_EMAIL && e.ADMIN_PASSWORD ? { email: e.ADMIN_EMAIL, password: e.ADMIN_PASSWORD } : undefined,
    logLevel: e.LOG_LEVEL,
    holdExpiryIntervalMs: e.HOLD_EXPIRY_INTERVAL_MS,
    paymentGatewayLatencyMs: e.PAYMENT_GATEWAY_LATENCY_MS,
    holdExpiryGraceMs: e.HOLD_EXPIRY_GRACE_MS,
    paymentSettleMs: e.PAYMENT_SETTLE_MS,
    jwtTtlSeconds: e.JWT_TTL_SECONDS,
    rateLimits: {
      perIp: e.RATE_LIMIT_PER_IP,
      ordersPerCustomer: e.RATE_LIMIT_ORDERS_PER_CUSTOMER,
      authPerIp: e.RATE_LIMIT_AUTH_PER_IP,
      streamsPerIp: e.RATE_LIMIT_STREAMS_PER_IP,
      windowMs: e.RATE_LIMIT_WINDOW_MS,
    },
    webhooks: {
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      concurrency: e.WEBHOOK_CONCURRENCY,
    },
    corsOrigins: (e.CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    trustProxy:
      e.TRUST_PROXY === undefined || e.TRUST_PROXY === 'false'
        ? false
        : e.TRUST_PROXY === 'true' || e.TRUST_PROXY,
  };
};
