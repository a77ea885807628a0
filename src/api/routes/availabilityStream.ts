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
  /** Open streams one client address may hold (0: no limit). */
  streamsPerIp: number;
};

/**
 * Server-sent events: the show's availability now, then again after every change. Each event
 * carries the whole show, so a client that missed some simply takes the latest.
 */
export const availabilityStreamRoutes: FastifyPluginAsync<AvailabilityStreamOptions> = async (app, deps) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const open = new Set<() => void>();
  const perIp = new Map<string, number>();
  let closing = false;
  // Before the server closes: it waits for open connections, and a stream never ends by itself.
  app.addHook('preClose', async () => {
    closing = true;
    for (const end of open) end();
  });
  api.get(
    '/shows/:showId/availability/stream',
    {
      // A HEAD would open a stream with no body that never ends.
      exposeHeadRoute: false,
      schema: {
        tags: ['catalog'],
        description:
          'text/event-stream: an `availability` event with the current figures (the body of GET /shows/{showId}/availability), then one after each change. Needs the change channel: 503 while it is unavailable.',
        params: showParamsSchema,
        response: {
          200: z.string().meta({ description: 'text/event-stream' }),
          404: problemSchema,
          429: problemSchema,
          503: problemSchema,
        },
      },
    },
    async (request, reply) => {
      const { showId } = request.params;
      const ip = request.ip;
      if (closing) throw new ProblemError(503, 'unavailable', 'shutting down', { 'retry-after': '5' });
      if (deps.streamsPerIp > 0 && (perIp.get(ip) ?? 0) >= deps.streamsPerIp)
        throw new ProblemError(429, 'rate_limited', `at most ${deps.streamsPerIp} open streams per client`, {
          'retry-after': '30',
        });

      // Everything a stream holds is let go by `end`, registered before the first await so that
      // a client leaving, or the server closing, while the stream is still opening reaches it.
      const releases: (() => void)[] = [];
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        open.delete(end);
        deps.metrics.openStreams.set(open.size);
        const count = (perIp.get(ip) ?? 1) - 1;
        if (count > 0) perIp.set(ip, count);
        else perIp.delete(ip);
        for (const release of releases.splice(0).reverse()) release();
      };
      open.add(end);
      deps.metrics.openStreams.set(open.size);
      perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
      reply.raw.once('close', end);

      const heard: AvailabilityChanged[] = [];
      let deliver = (change: AvailabilityChanged): void => {
        heard.push(change);
      };
      let current: Awaited<ReturnType<typeof readAvailability>>;
      try {
        // Subscribe before reading, so no change falls between the first figures and the feed.
        releases.push(await deps.feed.watch(showId, (change) => deliver(change)));
        current = await readAvailability({ cache: deps.cache, pool: deps.pool }, showId);
      } catch (error) {
        end();
        throw error;
      }
      if (!current) {
        end();
        throw new ProblemError(404, 'not_found', `no show ${showId}`);
      }
      if (ended) {
        // The client left, or the server began closing, while this stream was opening.
        reply.hijack();
        reply.raw.destroy();
        return;
      }
      const { source: _source, ...figures } = current;
      const seen = new Map<string, string>();

      reply.hijack();
      const raw = reply.raw;
      // What hooks set (CORS, security headers) still applies.
      const set = Object.entries(reply.getHeaders()).filter(
        (entry): entry is [string, string | number | string[]] => entry[1] !== undefined,
      );
      raw.writeHead(200, {
        ...Object.fromEntries(set),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Tells nginx-style proxies not to buffer the stream.
        'x-accel-buffering': 'no',
      });
      releases.push(() => raw.end());
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
      releases.push(() => clearInterval(heartbeat));
    },
  );
};
