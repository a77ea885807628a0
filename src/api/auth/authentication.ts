import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Role } from '../../accounts/customerAccounts.js';
import { ProblemError } from '../problem.js';

/** Who is calling, as the bearer token says. */
export type Caller = { customerId: string; role: Role };

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; role: Role };
    user: Caller;
  }
}

export type AuthOptions = {
  /** HS256 key; at least 32 characters. */
  jwtSecret: string;
  /** How long a token lasts (default 12 hours). */
  tokenTtlSeconds?: number;
};

const claims = z.object({ sub: z.uuid(), role: z.enum(['customer', 'admin']), exp: z.number() });

const unauthorized = (detail: string) =>
  new ProblemError(401, 'unauthorized', detail, { 'www-authenticate': 'Bearer' });

/** Signs and verifies bearer tokens: HS256 only, so a token cannot pick a weaker algorithm. */
export const registerAuthentication = async (app: FastifyInstance, options: AuthOptions): Promise<void> => {
  await app.register(fastifyJwt, {
    secret: options.jwtSecret,
    sign: { algorithm: 'HS256', expiresIn: options.tokenTtlSeconds ?? 12 * 3600 },
    verify: { algorithms: ['HS256'] },
    // A token signed with our key but without our claims is still not one of ours: throwing
    // here fails the verification.
    formatUser: (payload) => {
      const valid = claims.parse(payload);
      return { customerId: valid.sub, role: valid.role };
    },
  });
};

/** A signed token for an account, and when it stops being accepted. */
export const issueToken = (app: FastifyInstance, caller: Caller): { token: string; expiresAt: string } => {
  const token = app.jwt.sign({ sub: caller.customerId, role: caller.role });
  const { exp } = app.jwt.decode<{ exp: number }>(token) ?? { exp: 0 };
  return { token, expiresAt: new Date(exp * 1000).toISOString() };
};

/** onRequest hook: a valid bearer token, or 401. */
export const authenticate = async (request: FastifyRequest): Promise<void> => {
  if (!request.headers.authorization) throw unauthorized('send a bearer token in the Authorization header');
  try {
    await request.jwtVerify();
  } catch (error) {
    const expired = (error as { code?: string }).code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED';
    throw unauthorized(expired ? 'the token has expired; log in again' : 'the token is not valid');
  }
};

/** onRequest hook: a valid token of an admin; 401 without a token, 403 for a customer's. */
export const authenticateAdmin = async (request: FastifyRequest): Promise<void> => {
  await authenticate(request);
  if (request.user.role !== 'admin') throw new ProblemError(403, 'forbidden', 'this needs an admin');
};
