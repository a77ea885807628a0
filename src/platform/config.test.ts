import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable);
    throw error;
  }
  return [];
};

describe('loadConfig', () => {
  it('gives the embedded defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      nodeEnv: 'development',
      port: 3000,
      host: '127.0.0.1',
      dataDir: './.flashtix',
      databaseUrl: undefined,
      databasePoolSize: 20,
      eventStore: 'postgres',
      eventStoreUrl: undefined,
      redisUrl: undefined,
      jwtSecret: undefined,
      admin: undefined,
      logLevel: 'info',
      holdExpiryIntervalMs: 1000,
      paymentGatewayLatencyMs: 0,
      holdExpiryGraceMs: 2000,
      paymentSettleMs: 120_000,
      jwtTtlSeconds: 43_200,
      rateLimits: { perIp: 1200, ordersPerCustomer: 30, authPerIp: 30, streamsPerIp: 50, windowMs: 60_000 },
      webhooks: { timeoutMs: 10_000, maxAttempts: 15, concurrency: 32 },
      corsOrigins: [],
      trustProxy: false,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgresql://u@db:5432/flashtix',
      EVENTSTORE_URL: 'esdb://localhost:2113?tls=false',
      REDIS_URL: 'redis://cache:6379',
      JWT_SECRET: 'x'.repeat(32),
      ADMIN_EMAIL: 'admin@example.com',
      ADMIN_PASSWORD: 'correct horse',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_IP: '0',
      RATE_LIMIT_ORDERS_PER_CUSTOMER: '5',
      RATE_LIMIT_WINDOW_MS: '10000',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      TRUST_PROXY: '10.0.0.0/8',
      JWT_TTL_SECONDS: '600',
      WEBHOOK_TIMEOUT_MS: '2500',
      WEBHOOK_MAX_ATTEMPTS: '3',
      WEBHOOK_CONCURRENCY: '4',
    });
    expect(config).toMatchObject({
      rateLimits: { perIp: 0, ordersPerCustomer: 5, authPerIp: 30, streamsPerIp: 50, windowMs: 10_000 },
      corsOrigins: ['https://a.example', 'https://b.example'],
      trustProxy: '10.0.0.0/8',
      jwtTtlSeconds: 600,
      webhooks: { timeoutMs: 2500, maxAttempts: 3, concurrency: 4 },
      port: 8080,
      host: '0.0.0.0',
      eventStore: 'esdb',
      redisUrl: 'redis://cache:6379',
      admin: { email: 'admin@example.com', password: 'correct horse' },
      logLevel: 'warn',
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' })).toMatchObject({ databaseUrl: undefined, port: 3000 });
  });

  it('names every bad variable', () => {
    expect(
      problemsOf({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
        REDIS_URL: 'nope',
        WEBHOOK_MAX_ATTEMPTS: '0',
      }),
    ).toEqual(['PORT', 'DATABASE_URL', 'REDIS_URL', 'LOG_LEVEL', 'WEBHOOK_MAX_ATTEMPTS']);
  });

  it('requires a long JWT secret in production, and admin email and password together', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual(['JWT_SECRET']);
    expect(problemsOf({ JWT_SECRET: 'short' })).toEqual(['JWT_SECRET']);
    expect(problemsOf({ ADMIN_EMAIL: 'admin@example.com' })).toEqual(['ADMIN_PASSWORD']);
    expect(problemsOf({ EVENT_STORE: 'esdb' })).toEqual(['EVENTSTORE_URL']);
  });

  it('says which variable is wrong in its message', () => {
    expect(() => loadConfig({ PORT: '99999' })).toThrow(/PORT: /);
  });
});
