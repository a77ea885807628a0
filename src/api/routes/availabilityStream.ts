import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AvailabilityChanged } from '../../projections/availabilityCache/availabilityCache.js';
import { readAvailability } from '../../projections/availabilityReader.js';
import type { ApiContext } from '../app.js';
import type { AvailabilityFeed } from '../availabilityFeed.js';
import { ProblemError, problemSchema } from '../problem.js';
import { showParamsSchema } from '../schemas/show.js';

export type AvailabilityStreamOptions = ApiContext & {
  feed: AvailabilityFeed;
  /** A comment line this often keeps proxies from closing an idle stream (default 15 s). */
  heartbeatMs?: number;
};

/**
 * Server-sent events: the show's availability now, then again after every change. Each event
 * carries the whole show, so a client that missed some simply takes the latest.
 */
export const availabilityStreamRoutes: FastifyPluginAsync<AvailabilityStreamOptions> = async (app, deps) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const open = new Set<() => void>();
  // Before the server closes: it waits for open connections, and a stream never ends by itself.
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });
  api.get(
    '/shows/:showId/availability/stream',
    {
      schema: {
        tags: ['catalog'],
        description:
          'text/event-stream: an `availability` event with the current figures (the body of GET /shows/{showId}/availability), then one after each change.',
        params: showParamsSchema,
        response: {
          200: z.string().meta({ description: 'text/event-stream' }),
          404: problemSchema,
          503: problemSchema,
        },
      },
    },
    async (request, reply) => {
      const { showId } = request.params;
      const heard: AvailabilityChanged[] = [];
      let deliver = (change: AvailabilityChanged): void => {
        heard.push(change);
      };
      // Subscribe before reading, so no change falls between the first figures and the feed.
      const stop = await deps.feed.watch(showId, (change) => deliver(change));
      let current: Awaited<ReturnType<typeof readAvailability>>;
      try {
        current = await readAvailability({ cache: deps.cache, pool: deps.pool }, showId);
      } catch (error) {
        stop();
        throw error;
      }
      if (!current) {
        stop();
        throw new ProblemError(404, 'not_found', `no show ${showId}`);
      }
      const { source: _source, ...figures } = current;
      const seen = new Map<string, string>();

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Tells nginx-style proxies not to buffer the stream.
        'x-accel-buffering': 'no',
      });
      const send = () =>
        raw.write(
          `event: availability\ndata: ${JSON.stringify({ ...figures, asOf: new Date().toISOString() })}\n\n`,
        );
      const apply = (change: AvailabilityChanged) => {
        const last = seen.get(change.ticketTypeId);
        if (last !== undefined && change.position <= last) return;
        seen.set(change.ticketTypeId, change.position);
        const line = figures.ticketTypes.find((t) => t.ticketTypeId === change.ticketTypeId);
        if (!line) return;
        line.available = change.available;
        line.reserved = change.reserved;
        line.sold = change.sold;
        line.capacity = change.capacity;
        send();
      };
      send();
      for (const change of heard) apply(change);
      deliver = apply;
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), deps.heartbeatMs ?? 15_000);
      heartbeat.unref();
      const end = () => {
        open.delete(end);
        clearInterval(heartbeat);
        stop();
        raw.end();
      };
      open.add(end);
      request.raw.on('close', end);
    },
  );
};
