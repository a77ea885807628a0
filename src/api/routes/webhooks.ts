import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { webhookEventTypes } from '../../notifications/notificationReactor.js';
import { deliveryStatuses, listWebhookDeliveries } from '../../notifications/webhooks/webhookDeliveries.js';
import {
  listWebhooks,
  registerWebhook,
  removeWebhook,
  webhookExists,
} from '../../notifications/webhooks/webhookRegistry.js';
import type { ApiContext } from '../app.js';
import { authenticateAdmin } from '../auth/authentication.js';
import { ProblemError, problemSchema } from '../problem.js';
import { pageQuerySchema, pageSchema } from '../schemas/page.js';

const MAX_URL_LENGTH = 2048;

/** Where deliveries go: http(s), no credentials (fetch refuses them; put a token in the path instead). */
const endpointUrl = z
  .url({ protocol: /^https?$/, hostname: z.regexes.hostname })
  .max(MAX_URL_LENGTH)
  // Zod runs this even when the URL check above failed: only a URL can carry credentials.
  .refine((url) => {
    const parsed = URL.parse(url);
    return parsed === null || (parsed.username === '' && parsed.password === '');
  }, 'must not carry a user name or password')
  .meta({ description: 'http or https; the receiver answers 2xx to acknowledge a delivery.' });

const eventTypeSchema = z.enum(webhookEventTypes);

const registerBody = z.object({
  url: endpointUrl,
  events: z
    .array(eventTypeSchema)
    .min(1)
    .max(webhookEventTypes.length)
    .refine((events) => new Set(events).size === events.length, 'must not repeat an event type'),
});

const webhookSchema = z
  .object({
    webhookId: z.uuid(),
    url: z.string(),
    events: z.array(eventTypeSchema),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Webhook' });

const webhookParams = z.object({ webhookId: z.uuid() });

const deliverySchema = z
  .object({
    eventId: z.uuid().meta({ description: 'The same on every attempt: receivers de-duplicate by it.' }),
    eventType: eventTypeSchema,
    orderId: z.uuid(),
    status: z.enum(deliveryStatuses),
    event: z.record(z.string(), z.unknown()).meta({ description: 'The JSON body sent.' }),
    createdAt: z.iso.datetime(),
    nextAttemptAt: z.iso.datetime().nullable(),
    finishedAt: z.iso.datetime().nullable(),
    attempts: z.array(
      z.object({
        attempt: z.number().int(),
        startedAt: z.iso.datetime(),
        finishedAt: z.iso.datetime().nullable().meta({ description: 'Null: on the wire, or cut short.' }),
        statusCode: z.number().int().nullable(),
        error: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'WebhookDelivery' });

const adminErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 503: problemSchema };

const notFound = (webhookId: string) => new ProblemError(404, 'not_found', `no webhook ${webhookId}`);

/** Webhooks: endpoints that get a signed POST for each order event they subscribe to. Admins only. */
export const webhookRoutes: FastifyPluginAsync<ApiContext> = async (app, deps) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.addHook('onRequest', authenticateAdmin);

  api.post(
    '/admin/webhooks',
    {
      schema: {
        tags: ['admin', 'webhooks'],
        security: [{ bearer: [] }],
        description:
          'Registers an endpoint for the events that happen from now on. Each delivery is a POST of ' +
          '`{ id, type, createdAt, data }` with an `X-FlashTix-Signature: t=<unix seconds>,v1=<hex>` header, ' +
          'the HMAC-SHA256 of `<t>.<body>` under the secret returned here (and only here). Deliveries ' +
          'are at least once (de-duplicate by `id`), in order per order, retried with exponential ' +
          'backoff until a 2xx answer or the attempt limit.',
        body: registerBody,
        response: { 201: webhookSchema.extend({ secret: z.string() }), ...adminErrors },
      },
    },
    async (request, reply) => reply.code(201).send(await registerWebhook(deps.pool, request.body)),
  );

  api.get(
    '/admin/webhooks',
    {
      schema: {
        tags: ['admin', 'webhooks'],
        security: [{ bearer: [] }],
        description: 'The registered webhooks, newest first (without their secrets).',
        querystring: pageQuerySchema,
        response: { 200: pageSchema(webhookSchema), ...adminErrors },
      },
    },
    async (request) => listWebhooks(deps.pool, request.query),
  );

  api.delete(
    '/admin/webhooks/:webhookId',
    {
      schema: {
        tags: ['admin', 'webhooks'],
        security: [{ bearer: [] }],
        description:
          'Removes a webhook: it gets nothing further (a delivery already on the wire may still land).',
        params: webhookParams,
        response: { 204: z.null().meta({ description: 'Removed.' }), ...adminErrors, 404: problemSchema },
      },
    },
    async (request, reply) => {
      if (!(await removeWebhook(deps.pool, request.params.webhookId)))
        throw notFound(request.params.webhookId);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/admin/webhooks/:webhookId/deliveries',
    {
      schema: {
        tags: ['admin', 'webhooks'],
        security: [{ bearer: [] }],
        description: "A webhook's deliveries, newest first, each with its attempts.",
        params: webhookParams,
        querystring: pageQuerySchema,
        response: { 200: pageSchema(deliverySchema), ...adminErrors, 404: problemSchema },
      },
    },
    async (request) => {
      const { webhookId } = request.params;
      if (!(await webhookExists(deps.pool, webhookId))) throw notFound(webhookId);
      return listWebhookDeliveries(deps.pool, webhookId, request.query);
    },
  );
};
