import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listCustomerNotifications } from '../../notifications/notificationQueries.js';
import { notificationKinds } from '../../notifications/notificationReactor.js';
import type { ApiContext } from '../app.js';
import { authenticate } from '../auth/authentication.js';
import { problemSchema } from '../problem.js';
import { pageQuerySchema, pageSchema } from '../schemas/page.js';

const notificationSchema = z
  .object({
    notificationId: z.uuid(),
    kind: z.enum(notificationKinds),
    orderId: z.uuid(),
    payload: z
      .record(z.string(), z.unknown())
      .meta({ description: '`orderId`, `showId`, `status`, and `reason` and `refunded` where they apply' }),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Notification' });

/** A customer's messages about their orders' outcomes. */
export const notificationRoutes: FastifyPluginAsync<ApiContext> = async (app, deps) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.addHook('onRequest', authenticate);
  api.get(
    '/me/notifications',
    {
      schema: {
        tags: ['notifications'],
        security: [{ bearer: [] }],
        description:
          "The caller's notifications, newest first: one per order outcome (confirmed, cancelled, expired, rejected).",
        querystring: pageQuerySchema,
        response: {
          200: pageSchema(notificationSchema),
          400: problemSchema,
          401: problemSchema,
          429: problemSchema,
          503: problemSchema,
        },
      },
    },
    async (request) => listCustomerNotifications(deps.pool, request.user.customerId, request.query),
  );
};
