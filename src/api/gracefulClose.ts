import type { FastifyInstance } from 'fastify';

/**
 * Once the API is closing, every response still in flight asks its client to close the
 * connection: an idle keep-alive connection would otherwise hold the server's close open.
 * New requests meanwhile get fastify's 503 (return503OnClosing).
 */
export const registerGracefulClose = (app: FastifyInstance): void => {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
};
