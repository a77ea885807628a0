import type pg from 'pg';
import type { AllFrom, EventStore, RecordedEvent } from '../eventstore/eventStore.js';
import { withSessionLockIfFree } from '../platform/advisoryLocks.js';
import { inTransaction } from '../platform/postgres.js';
import type { AvailabilityCache } from './availabilityCache/availabilityCache.js';
import {
  AVAILABILITY_CACHE,
  availabilityCacheProjection,
} from './availabilityCache/availabilityCacheProjection.js';
import {
  CheckpointMovedError,
  lockCheckpoint,
  moveCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoints.js';
import type { Projection } from './projection.js';
import { READ_MODEL_SCHEMA, readModelTablesSql } from './readModelSchema.js';
import {
  independentReadModelParts,
  READ_MODELS,
  readModelProjection,
} from './readModels/readModelProjection.js';

export type RebuildProgress = { projection: string; done: number; total: number; eventsPerSecond: number };

export type RebuildResult = { projection: string; events: number; seconds: number; eventsPerSecond: number };

export type RebuildDeps = {
  pool: pg.Pool;
  store: EventStore;
  cache: AvailabilityCache;
  /** How many events `$all` holds, for the progress total; without it the total is what was done. */
  countEvents?: () => Promise<number>;
};

export const REBUILDABLE = [READ_MODELS, AVAILABILITY_CACHE] as const;
export type RebuildableName = (typeof REBUILDABLE)[number];

const PAGE = 2000;
const SHADOW = `${READ_MODEL_SCHEMA}_rebuild`;
const RETIRED = `${READ_MODEL_SCHEMA}_retired`;

/**
 * `$all` after `from`, page by page, until a page comes back empty. The next page is read
 * while the caller works on this one, so PostgreSQL reads and the caller's writes overlap.
 */
async function* pagesAfter(store: EventStore, from: AllFrom): AsyncGenerator<RecordedEvent[]> {
  let next = store.readAll({ from, maxCount: PAGE });
  for (;;) {
    const page = await next;
    const last = page.at(-1);
    if (!last) return;
    next = store.readAll({ from: last.position, maxCount: PAGE });
    // Awaited on the next turn; if the caller stops first, its failure matters to no one.
    next.catch(() => undefined);
    yield page;
  }
}

/** Replays `$all` after `from` through `apply`; returns the last position applied. */
const replay = async (
  store: EventStore,
  from: AllFrom,
  apply: (events: RecordedEvent[]) => Promise<void>,
  onPage?: (count: number) => void,
): Promise<AllFrom> => {
  let position = from;
  for await (const page of pagesAfter(store, from)) {
    await apply(page);
    position = page.at(-1)!.position;
    onPage?.(page.length);
  }
  return position;
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
  // Parts that share no table go side by side on connections of their own: replaying into the
  // fresh schema is bound by PostgreSQL's work on one connection, and one connection uses one core.
  const parts = independentReadModelParts.map((categories) => readModelProjection(SHADOW, categories));
  const applyToShadow = async (events: RecordedEvent[]) => {
    await Promise.all(parts.map((part) => inTransaction(pool, (tx) => part.apply(tx, events))));
  };
  const replayed = await replay(store, 'start', applyToShadow, onPage);
  await inTransaction(pool, async (tx) => {
    await lockCheckpoint(tx, READ_MODELS);
    const position = await replay(store, replayed, (page) => shadow.apply(tx, page), onPage);
    await tx.query(`DROP SCHEMA IF EXISTS ${RETIRED} CASCADE`);
    await tx.query(`ALTER SCHEMA ${READ_MODEL_SCHEMA} RENAME TO ${RETIRED}`);
    await tx.query(`ALTER SCHEMA ${SHADOW} RENAME TO ${READ_MODEL_SCHEMA}`);
    await writeCheckpoint(tx, READ_MODELS, position);
  });
  // Readers still on the old tables finish first: DROP waits for their locks.
  await pool.query(`DROP SCHEMA IF EXISTS ${RETIRED} CASCADE`);
};

/**
 * Rebuilds the availability cache: clears it, sends its checkpoint back to the start, and replays
 * the log into it, moving the checkpoint page by page by compare-and-set. A live runner meanwhile
 * finds its checkpoint moved and replays from the start too: the cache's position guard lets each
 * change count once whoever applies it, and changes to a ticket type it has not seen initialized
 * (cleared under a runner's feet) are ignored until its initialization is replayed.
 */
const rebuildAvailabilityCache = async (
  deps: RebuildDeps,
  onPage: (count: number) => void,
): Promise<void> => {
  const projection = availabilityCacheProjection(deps.cache);
  await deps.cache.clear();
  await inTransaction(deps.pool, async (tx) => {
    await lockCheckpoint(tx, AVAILABILITY_CACHE);
    await writeCheckpoint(tx, AVAILABILITY_CACHE, 'start');
  });
  let from: AllFrom = 'start';
  let pages = pagesAfter(deps.store, from);
  for (let next = await pages.next(); !next.done; next = await pages.next()) {
    const page = next.value;
    await projection.apply(deps.pool, page);
    const to = page.at(-1)!.position;
    try {
      await moveCheckpoint(deps.pool, AVAILABILITY_CACHE, from, to);
      from = to;
    } catch (error) {
      if (!(error instanceof CheckpointMovedError)) throw error;
      // The live runner moved it: go on from wherever that is, if it is further.
      const current = await readCheckpoint(deps.pool, AVAILABILITY_CACHE);
      from = current !== 'start' && current > to ? current : to;
      if (from !== to) {
        await pages.return(undefined);
        pages = pagesAfter(deps.store, from);
      }
    }
    onPage(page.length);
  }
};

/** One rebuild of a projection at a time: a second would drop the schema the first is filling. */
const withRebuildLock = async <T>(pool: pg.Pool, name: string, work: () => Promise<T>): Promise<T> => {
  const ran = await withSessionLockIfFree(pool, `rebuild:${name}`, work);
  if (!ran.locked) throw new Error(`a rebuild of ${name} is already running`);
  return ran.value;
};

/** Rebuilds the named projections (all when none are named) from the log, reporting progress. */
export const rebuild = async (
  deps: RebuildDeps,
  names: readonly RebuildableName[] = REBUILDABLE,
  onProgress?: (progress: RebuildProgress) => void,
): Promise<RebuildResult[]> => {
  const results: RebuildResult[] = [];
  for (const name of names) {
    const total = (await deps.countEvents?.()) ?? 0;
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
    await withRebuildLock(deps.pool, name, () =>
      name === READ_MODELS ? rebuildReadModels(deps, onPage) : rebuildAvailabilityCache(deps, onPage),
    );
    const seconds = (performance.now() - started) / 1000;
    results.push({ projection: name, events: done, seconds, eventsPerSecond: done / (seconds || 1e-9) });
  }
  return results;
};
