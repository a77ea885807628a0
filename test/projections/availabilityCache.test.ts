import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeOrder } from '../../src/commands/placeOrder.js';
import type {
  AvailabilityCache,
  AvailabilityChanged,
} from '../../src/projections/availabilityCache/availabilityCache.js';
import {
  AVAILABILITY_CACHE,
  availabilityCacheProjection,
} from '../../src/projections/availabilityCache/availabilityCacheProjection.js';
import { MemoryAvailabilityCache } from '../../src/projections/availabilityCache/memoryAvailabilityCache.js';
import { RedisAvailabilityCache } from '../../src/projections/availabilityCache/redisAvailabilityCache.js';
import { readAvailability } from '../../src/projections/availabilityReader.js';
import { ProjectionRunner } from '../../src/projections/projectionRunner.js';
import { projectionStatus } from '../../src/projections/projectionStatus.js';
import { readModelProjection } from '../../src/projections/readModels/readModelProjection.js';
import { at } from '../support/purchaseHarness.js';
import { replayAll } from '../support/replay.js';
import { waitFor } from '../support/waitFor.js';
import { useWorkloadFixture } from '../support/workloadFixture.js';

const redisUrl = process.env.REDIS_URL;
if (!redisUrl)
  console.info(
    'REDIS_URL is unset: the Redis availability cache tests are skipped (the in-process cache is tested).',
  );

const implementations: { name: string; create(): AvailabilityCache; skip: boolean }[] = [
  { name: 'in-process', create: () => new MemoryAvailabilityCache(), skip: false },
  {
    name: 'Redis',
    // A prefix of this file's own, so that parallel files and other users of this Redis never meet.
    create: () =>
      new RedisAvailabilityCache(redisUrl ?? '', {
        prefix: `flashtix-test-${randomBytes(4).toString('hex')}:`,
      }),
    skip: !redisUrl,
  },
];

describe('availability cache', () => {
  const fixture = useWorkloadFixture();
  const { pool } = fixture;

  for (const implementation of implementations) {
    describe(`${implementation.name}`, () => {
      const test = implementation.skip ? it.skip : it;
      let cache: AvailabilityCache;
      beforeAll(() => {
        if (!implementation.skip) cache = implementation.create();
      });
      afterAll(async () => {
        await cache?.clear();
        await cache?.close();
      });

      test('follows the inventory events to the figures the write side has, and publishes changes', async () => {
        const changes: AvailabilityChanged[] = [];
        const unsubscribe = await cache.subscribe((change) => changes.push(change));
        const projection = {
          ...availabilityCacheProjection(cache),
          name: `${AVAILABILITY_CACHE}-${implementation.name}`,
        };
        const runner = new ProjectionRunner({
          pool: pool(),
          store: fixture.subject.store,
          projection,
          retryMs: 50,
        });
        runner.start();
        const caughtUp = async () =>
          (await projectionStatus(pool(), fixture.subject.store, projection.name)).eventsBehind === 0;
        await waitFor('the cache to catch up', caughtUp);
        for (const [i, showId] of fixture.workload.showIds.entries()) {
          const figures = (await cache.get(showId))!;
          expect(figures.length).toBe(i === 0 ? 2 : 1);
          for (const f of figures) {
            const { available, reserved, sold } = f;
            expect({ available, reserved, sold }).toEqual(await fixture.h.figures(f.ticketTypeId));
          }
        }
        // A live change arrives on the channel with the new figures.
        await waitFor('the catch-up changes to be published', async () => changes.length > 0);
        const [ticketTypeId] = fixture.workload.ticketTypeIds;
        const placed = await placeOrder(fixture.h.ctx, {
          customerId: 'late-buyer',
          idempotencyKey: randomUUID(),
          request: {
            showId: fixture.workload.showIds[0]!,
            lines: [{ ticketTypeId: ticketTypeId!, quantity: 1 }],
          },
          now: at(200),
        });
        expect(placed.ok && placed.value.order.status).toBe('reserved');
        const expected = await fixture.h.figures(ticketTypeId!);
        await waitFor('the live change', async () =>
          changes.some(
            (c) =>
              c.ticketTypeId === ticketTypeId &&
              c.available === expected.available &&
              c.showId === fixture.workload.showIds[0],
          ),
        );
        await runner.stop();
        await unsubscribe();
      });

      test('a replay of the whole log, or a writer that is behind, cannot move the figures', async () => {
        const showId = fixture.workload.showIds[0]!;
        const before = await cache.get(showId);
        const changes: AvailabilityChanged[] = [];
        const unsubscribe = await cache.subscribe((change) => changes.push(change));
        const replay = { ...availabilityCacheProjection(cache), name: `replay-${randomUUID()}` };
        await replayAll(pool(), fixture.subject.store, replay, 100);
        const stale = before![0]!;
        await cache.apply(showId, stale.ticketTypeId, [{ kind: 'initialized', position: '0', capacity: 1 }]);
        await new Promise((r) => setTimeout(r, 100));
        expect(await cache.get(showId)).toEqual(before);
        expect(changes).toEqual([]);
        await unsubscribe();
      });
    });
  }

  it('reads fall back to PostgreSQL when Redis cannot be reached', async () => {
    // Bring the PostgreSQL availability read model up to date.
    const projection = { ...readModelProjection(), name: `fallback-${randomUUID()}` };
    await replayAll(pool(), fixture.subject.store, projection, 500);
    // The production settings: the client keeps trying to reconnect in the background.
    const unreachable = new RedisAvailabilityCache('redis://127.0.0.1:1');
    const cacheErrors: unknown[] = [];
    const showId = fixture.workload.showIds[0]!;
    const availability = await readAvailability(
      { cache: unreachable, pool: pool(), onCacheError: (e) => cacheErrors.push(e) },
      showId,
    );
    expect(availability?.source).toBe('postgres');
    expect(cacheErrors.length).toBe(1);
    for (const t of availability!.ticketTypes) {
      const { available, reserved, sold } = t;
      expect({ available, reserved, sold }).toEqual(await fixture.h.figures(t.ticketTypeId));
    }
    await unreachable.close();
  });

  // After the test above, which brings the PostgreSQL read model up to date.
  it('reads fall back to PostgreSQL at once when Redis accepts connections but never answers', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const hung = new RedisAvailabilityCache(`redis://127.0.0.1:${port}`);
    const started = performance.now();
    const availability = await readAvailability({ cache: hung, pool: pool() }, fixture.workload.showIds[0]!);
    expect(availability?.source).toBe('postgres');
    expect(performance.now() - started).toBeLessThan(1500);
    await hung.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });
});
