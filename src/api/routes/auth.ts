import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CustomerAccounts, EmailTakenError } from '../../accounts/customerAccounts.js';
import type { ApiContext } from '../app.js';
import { issueToken } from '../auth/authentication.js';
import { ProblemError, problemSchema } from '../problem.js';
import { textLine } from '../schemas/text.js';

const email = z.email().max(254);

/** Sign-up and sign-in; both answer with a bearer token. */
export const authRoutes: FastifyPluginAsync<ApiContext> = async (app, deps) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const accounts = new CustomerAccounts(deps.pool);
  // Each attempt costs a scrypt hash: a tighter limit than other routes, against guessing too.
  const { authPerIp, windowMs } = deps.rateLimits;
  const config = { rateLimit: authPerIp > 0 ? { max: authPerIp, timeWindow: windowMs } : false };
  api.post(
    '/auth/register',
    {
      config,
      schema: {
        tags: ['auth'],
        body: z.object({
          email,
          password: z.string().min(8).max(128),
          name: textLine(200),
        }),
        response: {
          201: z.object({ customerId: z.uuid(), token: z.string() }),
          400: problemSchema,
          409: problemSchema.meta({ description: 'email_taken' }),
        },
      },
    },
    async (request, reply) => {
      try {
        const account = await accounts.register(request.body);
        const { token } = issueToken(app, account);
        return reply.code(201).send({ customerId: account.customerId, token });
      } catch (error) {
        if (error instanceof EmailTakenError)
          throw new ProblemError(409, 'email_taken', 'an account with this email exists');
        throw error;
      }
    },
  );
  api.post(
    '/auth/login',
    {
      config,
      schema: {
        tags: ['auth'],
        body: z.object({ email, password: z.string().min(1).max(128) }),
        response: {
          200: z.object({
            customerId: z.uuid(),
            role: z.enum(['customer', 'admin']),
            token: z.string(),
            expiresAt: z.iso.datetime(),
          }),
          400: problemSchema,
          401: problemSchema,
        },
      },
    },
    async (request) => {
      const account = await accounts.authenticate(request.body.email, request.body.password);
      // One answer for an unknown email and a wrong password: no way to probe who has an account.
      if (!account) throw new ProblemError(401, 'unauthorized', 'the email or password is wrong');
      return { customerId: account.customerId, role: account.role, ...issueToken(app, account) };
    },
  );
};
