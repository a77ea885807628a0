import type pg from 'pg';
import type { AllFrom, EventStore, RecordedEvent } from '../eventstore/eventStore.js';
import type { AvailabilityCache } from './availabilityCache/availabilityCache.js';
import {
  AVAILABILITY_CACHE,
  availabilityCacheProjection,
} from './availabilityCache/availabilityCacheProjection.js';
import { readCheckpoint, writeCheckpoint } from './checkpoints.js';
import type { Projection } from './projection.js';
import { inTransaction } from './projectionRunner.js';
import { READ_MODEL_SCHEMA, readModelTablesSql } from './readModelSchema.js';
import { READ_MODELS, readModelProjection } from './readModels/readModelProjection.js';

export type RebuildProgress = { projection: string; done: number; total: number; eventsPerSecond: number };

export type RebuildResult = { projection: string; events: number; seconds: number; eventsPerSecond: number };

export type RebuildDeps = {
  pool: pg.Pool;
  store: EventStore;
  cache: AvailabilityCache;
  /** How many events `$all` holds, for the progress total. */
  countEvents: () => Promise<number>;
};

export const REBUILDABLE = [READ_MODELS, AVAILABILITY_CACHE] as const;
export type RebuildableName = (typeof REBUILDABLE)[number];

const PAGE = 2000;
const SHADOW = `${READ_MODEL_SCHEMA}_rebuild`;
const RETIRED = `${READ_MODEL_SCHEMA}_retired`;

/** Replays `$all` after `from` through `apply`, page by page; returns the last position applied. */
const replay = async (
  store: EventStore,
  from: AllFrom,
  apply: (events: RecordedEvent[]) => Promise<void>,
  onPage?: (count: number) => void,
): Promise<AllFrom> => {
  let position = from;
  for (;;) {
    const page = await store.readAll({ from: position, maxCount: PAGE });
    if (page.length === 0) return position;
    await apply(page);
    position = page.at(-1)!.position;
    onPage?.(page.length);
  }
};

/**
 * Rebuilds the PostgreSQL read models: replays the log into a fresh schema while the API keeps
 * reading the live one, then, holding the live checkpoint's row (which pauses the live runner),
 * replays what arrived meanwhile, renames the fresh schema into place and moves the checkpoint.
 * The live runner finds its checkpoint moved and carries on from there.
 */
const rebuildReadModels = async (deps: RebuildDeps, onPage: (count: number) => void): Promise<void> => {
  const { pool, store } = deps;
  await pool.query(`DROP SCHEMA IF EXISTS ${SHADOW} CASCADE`);
  await pool.query(readModelTablesSql(SHADOW));
  const shadow: Projection = readModelProjection(SHADOW);
  const applyToShadow = (events: RecordedEvent[]) => inTransaction(pool, (tx) => shadow.apply(tx, events));
  const replayed = await replay(store, 'start', applyToShadow, onPage);
  await inTransaction(pool, async (tx) => {
    await readCheckpoint(tx, READ_MODELS, { forUpdate: true });
    let position = replayed;
    for (;;) {
      const page = await store.readAll({ from: position, maxCount: PAGE });
      if (page.length === 0) break;
      await shadow.apply(tx, page);
      position = page.at(-1)!.position;
      onPage(page.length);
    }
    await tx.query(`DROP SCHEMA IF EXISTS ${RETIRED} CASCADE`);
    await tx.query(`ALTER SCHEMA ${READ_MODEL_SCHEMA} RENAME TO ${RETIRED}`);
    await tx.query(`ALTER SCHEMA ${SHADOW} RENAME TO ${READ_MODEL_SCHEMA}`);
    if (position !== 'start') await writeCheckpoint(tx, READ_MODELS, position);
    else await tx.query('DELETE FROM projection_checkpoints WHERE name = $1', [READ_MODELS]);
  });
  // Readers still on the old tables finish first: DROP waits for their locks.
  await pool.query(`DROP SCHEMA IF EXISTS ${RETIRED} CASCADE`);
};

/**
 * Rebuilds the availability cache: holding its checkpoint's row (pausing its live runner), clears
 * the cache, replays the log into it and moves the checkpoint. Reads meanwhile fall back to
 * PostgreSQL for shows the cache does not hold yet.
 */
const rebuildAvailabilityCache = async (
  deps: RebuildDeps,
  onPage: (count: number) => void,
): Promise<void> => {
  const projection = availabilityCacheProjection(deps.cache);
  await inTransaction(deps.pool, async (tx) => {
    await readCheckpoint(tx, AVAILABILITY_CACHE, { forUpdate: true });
    await deps.cache.clear();
    const position = await replay(deps.store, 'start', (events) => projection.apply(tx, events), onPage);
    if (position !== 'start') await writeCheckpoint(tx, AVAILABILITY_CACHE, position);
  });
};

/** Rebuilds the named projections (all when none are named) from the log, reporting progress. */
export const rebuild = async (
  deps: RebuildDeps,
  names: readonly RebuildableName[] = REBUILDABLE,
  onProgress?: (progress: RebuildProgress) => void,
): Promise<RebuildResult[]> => {
  const results: RebuildResult[] = [];
  for (const name of names) {
    const total = await deps.countEvents();
    const started = performance.now();
    let done = 0;
    const onPage = (count: number) => {
      done += count;
      const seconds = (performance.now() - started) / 1000;
      onProgress?.({
        projection: name,
        done,
        total: Math.max(total, done),
        eventsPerSecond: done / (seconds || 1e-9),
      });
    };
    if (name === READ_MODELS) await rebuildReadModels(deps, onPage);
    else await rebuildAvailabilityCache(deps, onPage);
    const seconds = (performance.now() - started) / 1000;
    results.push({ projection: name, events: done, seconds, eventsPerSecond: done / (seconds || 1e-9) });
  }
  return results;
};
