import { createHmac } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { CustomerAccounts } from '../../src/accounts/customerAccounts.js';
import type { Api, ApiDeps } from '../../src/api/app.js';
import { HoldExpiry } from '../../src/process/holdExpiry.js';
import { PurchaseProcessManager } from '../../src/process/purchaseProcessManager.js';
import { availabilityCacheProjection } from '../../src/projections/availabilityCache/availabilityCacheProjection.js';
import { MemoryAvailabilityCache } from '../../src/projections/availabilityCache/memoryAvailabilityCache.js';
import { ProjectionRunner } from '../../src/projections/projectionRunner.js';
import { readModelProjection } from '../../src/projections/readModels/readModelProjection.js';
import { type ApiClient, apiClient } from './apiClient.js';
import { buildTestApi, TEST_JWT_SECRET } from './apiHarness.js';
import { type Harness, purchaseHarness } from './purchaseHarness.js';
import { postgresSubject, type StoreSubject } from './stores.js';

export const ADMIN = { email: 'admin@example.com', password: 'admin-password-1' };

export type ApiStack = {
  subject: StoreSubject;
  h: Harness;
  pool: pg.Pool;
  cache: MemoryAvailabilityCache;
  api: Api;
  /** Another API on the same stores, e.g. with its own clock or gateway. */
  otherApi(deps: Partial<ApiDeps>): Promise<Api>;
  /** Stops the read-model projection, runs `work`, then starts it again. */
  withReadModelsPaused<T>(work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
};

/**
 * Every role of FlashTix on a fresh database, as `flashtix start` runs them: the API, the read
 * models and availability cache projections, the process manager and hold expiry (quick here:
 * every 100 ms, no grace), plus an admin account.
 */
export const startApiStack = async (): Promise<ApiStack> => {
  const subject = await postgresSubject();
  const pool = subject.database!.pool;
  const h = purchaseHarness(subject);
  const cache = new MemoryAvailabilityCache();
  await new CustomerAccounts(pool).ensureAdmin(ADMIN.email, ADMIN.password);
  const onError = (error: unknown) => console.error(error);
  const readModels = () =>
    new ProjectionRunner({ pool, store: subject.store, projection: readModelProjection(), onError });
  let readModelRunner = readModels();
  const cacheRunner = new ProjectionRunner({
    pool,
    store: subject.store,
    projection: availabilityCacheProjection(cache),
    onError,
  });
  const manager = new PurchaseProcessManager({ ctx: h.ctx, pool, onError });
  const expiry = new HoldExpiry({ ctx: h.ctx, pool, intervalMs: 100, graceMs: 0, onError });
  for (const part of [readModelRunner, cacheRunner, manager, expiry]) part.start();
  const apis: Api[] = [];
  const otherApi = async (deps: Partial<ApiDeps>) => {
    const api = await buildTestApi({ pool, store: subject.store, cache, purchase: h.ctx, ...deps });
    apis.push(api);
    return api;
  };
  const api = await otherApi({});
  return {
    subject,
    h,
    pool,
    cache,
    api,
    otherApi,
    withReadModelsPaused: async (work) => {
      await readModelRunner.stop();
      try {
        return await work();
      } finally {
        readModelRunner = readModels();
        readModelRunner.start();
      }
    },
    close: async () => {
      await Promise.all(apis.map((a) => a.close()));
      await Promise.all([readModelRunner, cacheRunner, manager, expiry].map((p) => p.stop()));
      await h.close();
      await cache.close();
      await subject.teardown();
    },
  };
};

/** A hand-made HS256 token, for tokens the API must refuse (forged, expired, odd claims). */
export const handMadeToken = (
  payload: Record<string, unknown>,
  { secret = TEST_JWT_SECRET, alg = 'HS256' }: { secret?: string; alg?: string } = {},
): string => {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg, typ: 'JWT' })}.${part(payload)}`;
  const signature = alg === 'none' ? '' : createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
};

export type ApiStackFixture = { stack: ApiStack; client: ApiClient; adminToken: string };

/** Registers the hooks for a stack of this file's own, a client on its API and an admin token. */
export const useApiStack = (): ApiStackFixture => {
  const fixture = {} as ApiStackFixture;
  beforeAll(async () => {
    fixture.stack = await startApiStack();
    fixture.client = apiClient(fixture.stack.api);
    fixture.adminToken = await fixture.client.adminToken();
  });
  afterAll(async () => fixture.stack?.close());
  return fixture;
};
