import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * helmet's security headers on every answer. @fastify/helmet builds helmet's middleware anew for
 * each request, parsing the content security policy every time (a few percent of the CPU of a
 * flash sale); the headers never change, so the middleware is built once here.
 */
export const registerSecurityHeaders = (app: FastifyInstance, options: HelmetOptions): void => {
  const setHeaders = helmet(options);
  app.addHook('onRequest', (request, reply, done) => {
    setHeaders(request.raw, reply.raw, (error?: unknown) => done(error instanceof Error ? error : undefined));
  });
};
