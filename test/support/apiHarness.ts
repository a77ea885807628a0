import type { Api, ApiDeps } from '../../src/api/app.js';
import { buildApi } from '../../src/api/app.js';

export const TEST_JWT_SECRET = 'a-test-secret-that-is-long-enough-for-hs256';

/** The real API with test defaults: a known JWT secret and no rate limits unless a test sets them. */
export const buildTestApi = (
  deps: Omit<ApiDeps, 'jwtSecret' | 'cacheIsShared' | 'rateLimits'> &
    Partial<Pick<ApiDeps, 'jwtSecret' | 'cacheIsShared' | 'rateLimits'>>,
): Promise<Api> =>
  buildApi({
    cacheIsShared: false,
    jwtSecret: TEST_JWT_SECRET,
    rateLimits: { perIp: 0, ordersPerCustomer: 0, authPerIp: 0, streamsPerIp: 0, windowMs: 60_000 },
    ...deps,
  });

type Injected = { statusCode: number; headers: Record<string, unknown>; json(): unknown };

/** Asserts a problem+json answer with this status and code, and no internals in it. */
export const expectProblemShape = (response: Injected, status: number, code: string) => {
  if (
    response.statusCode !== status ||
    !String(response.headers['content-type']).startsWith('application/problem+json')
  )
    throw new Error(
      `expected ${status} ${code}, got ${response.statusCode}: ${JSON.stringify(response.json())}`,
    );
  const body = response.json() as {
    status: number;
    code: string;
    title: string;
    detail: string;
    type: string;
  };
  if (body.status !== status || body.code !== code || typeof body.detail !== 'string')
    throw new Error(`expected ${status} ${code}, got ${JSON.stringify(body)}`);
  if (/at .*\.ts:\d+/.test(JSON.stringify(body))) throw new Error('a stack trace leaked');
  return body;
};
