import type pg from 'pg';
import type { AllFrom, EventStore, RecordedEvent } from '../eventstore/eventStore.js';
import { runAsSingleInstance } from '../platform/advisoryLocks.js';
import { inTransaction } from '../platform/postgres.js';
import { batches } from './batches.js';
import {
  CheckpointMovedError,
  lockCheckpoint,
  moveCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoints.js';

export { CheckpointMovedError };

import type { Projection } from './projection.js';

export type ProjectionRunnerOptions = {
  pool: pg.Pool;
  store: EventStore;
  projection: Projection;
  /** Events applied in one transaction at most (default 500). */
  batchSize?: number;
  /** Pause before a standby asks for the lock again, or after a failure (default 1,000 ms). */
  retryMs?: number;
  onError?: (error: unknown) => void;
  /** Hears each batch once it is committed (metrics). */
  onBatch?: (events: readonly RecordedEvent[]) => void;
};

/**
 * Runs one projection: reads `$all` after its checkpoint, catches up, then follows live, applying
 * each batch and moving the checkpoint in one transaction, so that a crash at any point neither
 * loses an event nor applies one twice. One runner per projection is active at a time
 * (a PostgreSQL advisory lock); others stand by and take over when it stops.
 */
export class ProjectionRunner {
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;

  constructor(private readonly options: ProjectionRunnerOptions) {}

  get name(): string {
    return this.options.projection.name;
  }

  start(): void {
    this.#running ??= runAsSingleInstance({
      pool: this.options.pool,
      name: `projection:${this.name}`,
      stop: this.#stop.signal,
      retryMs: this.options.retryMs,
      onError: this.options.onError,
      work: (lost) => this.#follow(lost),
    });
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #follow(lost: AbortSignal): Promise<void> {
    const { pool, store, projection } = this.options;
    let from = await readCheckpoint(pool, this.name);
    const subscription = store.subscribeToAll({ from });
    const close = () => void subscription.close();
    // The lock may have been lost (or a stop asked for) while the checkpoint was being read.
    if (lost.aborted) close();
    lost.addEventListener('abort', close, { once: true });
    try {
      for await (const batch of batches(subscription, this.options.batchSize ?? 500)) {
        await applyBatch(pool, projection, batch, from);
        from = batch.at(-1)!.position;
        this.options.onBatch?.(batch);
        if (lost.aborted) return;
      }
    } finally {
      lost.removeEventListener('abort', close);
      await subscription.close();
    }
  }
}

/**
 * Applies events and moves the projection's checkpoint past them, in one transaction. The
 * checkpoint row is locked first and must still be `from` (where these events were read after):
 * if a rebuild moved it meanwhile, nothing is applied and CheckpointMovedError tells the runner
 * to start again from the new checkpoint.
 */
export const applyBatch = async (
  pool: pg.Pool,
  projection: Projection,
  events: readonly RecordedEvent[],
  from: AllFrom,
): Promise<void> => {
  const last = events.at(-1);
  if (!last) return;
  if (projection.transactional === false) {
    await projection.apply(pool, events);
    await moveCheckpoint(pool, projection.name, from, last.position);
    return;
  }
  await inTransaction(pool, async (tx) => {
    const current = await lockCheckpoint(tx, projection.name);
    if (current !== from) throw new CheckpointMovedError(`${projection.name} is at ${current}, not ${from}`);
    await projection.apply(tx, events);
    await writeCheckpoint(tx, projection.name, last.position);
  });
};
