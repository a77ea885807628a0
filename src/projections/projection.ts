import type pg from 'pg';
import type { RecordedEvent } from '../eventstore/eventStore.js';

/** A connection inside the runner's transaction. */
export type Transaction = Pick<pg.PoolClient, 'query'>;

/**
 * Turns events into a read model. `apply` runs inside the transaction that also moves the
 * projection's checkpoint, so a batch is applied exactly once or not at all. A projection whose
 * target is not PostgreSQL (the Redis cache) makes its writes idempotent instead.
 */
export interface Projection {
  readonly name: string;
  /**
   * False for a projection whose target is not PostgreSQL: its batch is applied first (its
   * writes must be idempotent), then the checkpoint is moved by compare-and-set, so that no
   * transaction stays open while another system answers. (An open transaction id holds back
   * what every `$all` reader of the PostgreSQL store sees.)
   */
  readonly transactional?: boolean;
  apply(tx: Transaction, events: readonly RecordedEvent[]): Promise<void>;
}
