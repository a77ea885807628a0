import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cancelOrder } from '../../commands/cancelOrder.js';
import { readOrderView } from '../../commands/orderView.js';
import { payOrder } from '../../commands/payOrder.js';
import { placeOrder } from '../../commands/placeOrder.js';
import { listCustomerOrders } from '../../projections/readModels/queries.js';
import type { ApiContext } from '../app.js';
import { authenticate } from '../auth/authentication.js';
import { ProblemError, problemSchema } from '../problem.js';
import {
  idempotencyHeadersSchema,
  type OrderBody,
  orderParamsSchema,
  orderSchema,
} from '../schemas/order.js';
import { pageQuerySchema, pageSchema } from '../schemas/page.js';

export const MAX_ORDER_LINES = 10;

const placeOrderBody = z.object({
  showId: z.uuid(),
  lines: z
    .array(z.object({ ticketTypeId: z.uuid(), quantity: z.number().int().min(1).max(1_000_000) }))
    .min(1)
    .max(MAX_ORDER_LINES)
    .refine((lines) => new Set(lines.map((l) => l.ticketTypeId)).size === lines.length, {
      message: 'each ticket type may appear on one line only',
    }),
});

const conflict = problemSchema.meta({
  description:
    'sold_out, purchase_limit_exceeded, sales_not_open, sales_closed, hold_expired, order_not_payable or order_not_cancellable',
});

const errors = {
  400: problemSchema,
  401: problemSchema,
  404: problemSchema,
  429: problemSchema,
  503: problemSchema,
};

const REPLAYED = 'idempotent-replayed';

/** An admin may act on any order; a customer only on their own, and others' read as not found. */
const ownerFilter = (request: FastifyRequest): string | undefined =>
  request.user.role === 'admin' ? undefined : request.user.customerId;

const notFound = (orderId: string) => new ProblemError(404, 'not_found', `no order ${orderId}`);

const markReplayed = (reply: FastifyReply, replayed: boolean) => {
  if (replayed) reply.header(REPLAYED, 'true');
};

/** Purchases: place an order (seats held), pay for it, cancel it, and read orders back. */
export const orderRoutes: FastifyPluginAsync<ApiContext> = async (app, deps) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.addHook('onRequest', authenticate);
  // Two Idempotency-Key headers would be joined into one key nobody sent.
  api.addHook('onRequest', async (request) => {
    const raw = request.raw.rawHeaders;
    let keys = 0;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'idempotency-key') keys++;
    if (keys > 1) throw new ProblemError(400, 'validation_failed', 'send one Idempotency-Key header');
  });
  const ctx = deps.purchase;
  const perCustomer = deps.limitOrdersPerCustomer;

  api.post(
    '/orders',
    {
      // After authentication: the per-customer limit needs to know the customer.
      preHandler: perCustomer ? async (request) => perCustomer(request) : undefined,
      schema: {
        tags: ['orders'],
        security: [{ bearer: [] }],
        description:
          'Holds seats for the lines until `expiresAt`. The same Idempotency-Key and body answer 200 with the same order (header Idempotent-Replayed: true); a refused order is recorded and a replay gives the same 409.',
        headers: idempotencyHeadersSchema,
        body: placeOrderBody,
        response: { 200: orderSchema, 201: orderSchema, ...errors, 409: conflict, 422: problemSchema },
      },
    },
    async (request, reply) => {
      const placed = await placeOrder(ctx, {
        customerId: request.user.customerId,
        idempotencyKey: request.headers['idempotency-key'],
        request: request.body,
        now: deps.clock(),
      });
      if (!placed.ok) {
        const { code, message } = placed.error;
        if (code === 'idempotency_key_reused') throw new ProblemError(422, code, message);
        if (code === 'invalid_order') throw new ProblemError(400, 'validation_failed', message);
        throw new ProblemError(404, 'not_found', message);
      }
      const { order, replayed } = placed.value;
      // A refusal is an error reply: its headers travel with the ProblemError.
      if (order.status === 'rejected')
        throw new ProblemError(
          409,
          order.rejectReason ?? 'sold_out',
          `order ${order.orderId} was refused: ${order.rejectReason ?? 'no seats'}`,
          replayed ? { [REPLAYED]: 'true' } : {},
        );
      markReplayed(reply, replayed);
      if (!replayed) reply.header('location', `/orders/${order.orderId}`);
      return reply.code(replayed ? 200 : 201).send(order);
    },
  );

  api.get(
    '/orders',
    {
      schema: {
        tags: ['orders'],
        security: [{ bearer: [] }],
        description: "The caller's orders, newest first.",
        querystring: pageQuerySchema,
        response: {
          200: pageSchema(orderSchema),
          ...errors,
        },
      },
    },
    async (request) => {
      const page = await listCustomerOrders(deps.pool, request.user.customerId, request.query);
      return { items: page.items as OrderBody[], nextCursor: page.nextCursor };
    },
  );

  api.get(
    '/orders/:orderId',
    {
      schema: {
        tags: ['orders'],
        security: [{ bearer: [] }],
        params: orderParamsSchema,
        response: { 200: orderSchema, ...errors },
      },
    },
    async (request) => {
      const { orderId } = request.params;
      // From the order's own two short streams, not the read model: right after a 201 or a
      // payment the read model may still be behind, and a client polling its order must never
      // see it go back from confirmed to reserved.
      const order = await readOrderView(deps.store, orderId);
      const owner = ownerFilter(request);
      if (!order || (owner !== undefined && order.customerId !== owner)) throw notFound(orderId);
      return order;
    },
  );

  api.post(
    '/orders/:orderId/payment',
    {
      schema: {
        tags: ['orders'],
        security: [{ bearer: [] }],
        description:
          'Charges the order. Simulated gateway: `tok_decline` declines (the order is cancelled), `tok_error` fails before charging (503; retry with the same key), any other token succeeds. The same key answers the same, never charging twice.',
        params: orderParamsSchema,
        headers: idempotencyHeadersSchema,
        body: z.object({ paymentToken: z.string().min(1).max(200) }),
        response: {
          200: z.object({
            order: orderSchema,
            payment: z.object({
              attemptId: z.uuid(),
              status: z.enum(['succeeded', 'failed']),
              reason: z.string().optional(),
            }),
          }),
          ...errors,
          409: conflict,
          422: problemSchema,
        },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const paid = await payOrder(ctx, {
        orderId,
        customerId: ownerFilter(request),
        idempotencyKey: request.headers['idempotency-key'],
        paymentToken: request.body.paymentToken,
        now: deps.clock(),
      });
      if (!paid.ok) {
        const { code, message } = paid.error;
        if (code === 'order_not_found') throw notFound(orderId);
        if (code === 'idempotency_key_reused') throw new ProblemError(422, code, message);
        throw new ProblemError(409, code, message);
      }
      markReplayed(reply, paid.value.replayed);
      return { order: paid.value.order, payment: paid.value.payment };
    },
  );

  api.post(
    '/orders/:orderId/cancel',
    {
      schema: {
        tags: ['orders'],
        security: [{ bearer: [] }],
        description:
          'Gives a reserved order up; its seats go back on sale. Cancelling again answers the same.',
        params: orderParamsSchema,
        response: { 200: orderSchema, ...errors, 409: conflict },
      },
    },
    async (request) => {
      const { orderId } = request.params;
      const cancelled = await cancelOrder(ctx, {
        orderId,
        customerId: ownerFilter(request),
        now: deps.clock(),
      });
      if (!cancelled.ok) {
        if (cancelled.error.code === 'order_not_found') throw notFound(orderId);
        throw new ProblemError(409, cancelled.error.code, cancelled.error.message);
      }
      return cancelled.value;
    },
  );
};
