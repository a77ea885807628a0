import type pg from 'pg';
import type { AllFrom, EventStore } from '../eventstore/eventStore.js';
import { readCheckpoint } from './checkpoints.js';

export type ProjectionStatus = {
  name: string;
  /** The last applied event's position; null before the first batch. */
  position: string | null;
  /** Events in `$all` after the checkpoint, counted up to `limit`. */
  eventsBehind: number;
  /** True when there are at least `limit` events behind (eventsBehind is then a floor). */
  atLeast: boolean;
  /** Age of the oldest event not yet applied; 0 when caught up. */
  secondsBehind: number;
};

/** How far a consumer whose checkpoint is `from` is behind the head of `$all`. */
export const statusAt = async (
  store: EventStore,
  name: string,
  from: AllFrom,
  options: { now?: Date; limit?: number } = {},
): Promise<ProjectionStatus> => {
  const limit = options.limit ?? 1000;
  const pending = await store.readAll({ from, maxCount: limit });
  const oldest = pending[0];
  const now = options.now ?? new Date();
  return {
    name,
    position: from === 'start' ? null : from,
    eventsBehind: pending.length,
    atLeast: pending.length === limit,
    secondsBehind: oldest ? Math.max(0, (now.getTime() - oldest.createdAt.getTime()) / 1000) : 0,
  };
};

/** How far a projection is behind the head of `$all`, for metrics and `flashtix projections status`. */
export const projectionStatus = async (
  pool: pg.Pool,
  store: EventStore,
  name: string,
  options: { now?: Date; limit?: number } = {},
): Promise<ProjectionStatus> => statusAt(store, name, await readCheckpoint(pool, name), options);
