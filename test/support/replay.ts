import type pg from 'pg';
import type { AllFrom, EventStore } from '../../src/eventstore/eventStore.js';
import { readCheckpoint } from '../../src/projections/checkpoints.js';
import type { Projection } from '../../src/projections/projection.js';
import { applyBatch } from '../../src/projections/projectionRunner.js';

/** Applies everything after the projection's checkpoint, in pages, as a runner would but at once. */
export const replayAll = async (pool: pg.Pool, store: EventStore, projection: Projection, pageSize = 500) => {
  let from: AllFrom = await readCheckpoint(pool, projection.name);
  for (;;) {
    const page = await store.readAll({ from, maxCount: pageSize });
    if (page.length === 0) return;
    await applyBatch(pool, projection, page, from);
    from = page.at(-1)!.position;
  }
};
