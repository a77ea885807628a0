import Fastify from 'fastify';

/**
 * The ceiling reference for the HTTP benchmark: fastify with one route that parses the same
 * JSON body and answers 201, no auth, validation, storage or logging. Prints its address.
 */
const app = Fastify();
app.post('/orders', async (request, reply) => {
  const body = request.body as { showId?: string };
  return reply.code(201).send({ orderId: request.id, showId: body.showId, status: 'reserved' });
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`listening on ${address}`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
