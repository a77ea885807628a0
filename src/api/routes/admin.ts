import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { scheduleShow } from '../../commands/scheduleShow.js';
import { closeSales, openSales } from '../../commands/showSales.js';
import { MAX_CAPACITY, MAX_HOLD_SECONDS, MAX_TICKET_TYPES } from '../../domain/show/decider.js';
import { audit } from '../../projections/audit.js';
import type { ApiContext } from '../app.js';
import { authenticateAdmin } from '../auth/authentication.js';
import { ProblemError, problemSchema } from '../problem.js';
import { showBody, showParamsSchema, showSchema } from '../schemas/show.js';
import { textLine } from '../schemas/text.js';

const scheduleBody = z.object({
  name: textLine(200),
  venue: textLine(200),
  startsAt: z.iso.datetime({ offset: true }),
  salesOpenAt: z.iso.datetime({ offset: true }).optional().meta({ description: 'Default: now.' }),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR')
    .meta({ description: 'ISO 4217, upper case.' }),
  holdSeconds: z.number().int().min(1).max(MAX_HOLD_SECONDS).default(600),
  ticketTypes: z
    .array(
      z.object({
        name: textLine(200),
        priceCents: z.number().int().min(0).max(100_000_000),
        capacity: z.number().int().min(1).max(MAX_CAPACITY),
        maxPerCustomer: z.number().int().min(1).max(MAX_CAPACITY).default(10),
      }),
    )
    .min(1)
    .max(MAX_TICKET_TYPES),
});

const violationSchema = z.object({
  kind: z.string(),
  streamName: z.string().optional(),
  position: z.string().optional(),
  detail: z.string(),
});

const adminErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema };

/** Show scheduling, sales switches and the audit: admins only. */
export const adminRoutes: FastifyPluginAsync<ApiContext> = async (app, deps) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.addHook('onRequest', authenticateAdmin);
  const ctx = deps.purchase;

  api.post(
    '/admin/shows',
    {
      schema: {
        tags: ['admin'],
        security: [{ bearer: [] }],
        body: scheduleBody,
        response: { 201: showSchema, ...adminErrors },
      },
    },
    async (request, reply) => {
      const { ticketTypes, ...show } = request.body;
      const now = deps.clock();
      const scheduled = await scheduleShow(ctx.store, {
        ...show,
        showId: randomUUID(),
        ticketTypes: ticketTypes.map((t) => ({ ...t, ticketTypeId: randomUUID() })),
        now,
      });
      if (!scheduled.ok) throw new ProblemError(400, 'validation_failed', scheduled.error.message);
      const details = scheduled.value;
      return reply.code(201).send(
        showBody({
          status: 'scheduled',
          show: details,
          salesOpenAt: details.salesOpenAt,
          salesClosed: false,
        }),
      );
    },
  );

  for (const action of ['open', 'close'] as const) {
    api.post(
      `/admin/shows/:showId/sales/${action}`,
      {
        schema: {
          tags: ['admin'],
          security: [{ bearer: [] }],
          params: showParamsSchema,
          response: { 200: showSchema, ...adminErrors, 404: problemSchema },
        },
      },
      async (request) => {
        const switchSales = action === 'open' ? openSales : closeSales;
        const result = await switchSales(ctx.store, ctx.writers, request.params.showId, deps.clock());
        if (!result.ok) throw new ProblemError(404, 'not_found', `no show ${request.params.showId}`);
        return showBody(result.value);
      },
    );
  }

  api.get(
    '/admin/audit',
    {
      schema: {
        tags: ['admin'],
        security: [{ bearer: [] }],
        description: 'Replays the whole log and checks every invariant; the same checks as `flashtix audit`.',
        response: {
          200: z.object({
            ok: z.boolean(),
            checkedEvents: z.number().int(),
            violations: z.array(violationSchema),
          }),
          ...adminErrors,
        },
      },
    },
    async () => {
      const report = await audit({ store: deps.store, pool: deps.pool }, { now: deps.clock() });
      return { ok: report.ok, checkedEvents: report.checkedEvents, violations: report.violations };
    },
  );
};
