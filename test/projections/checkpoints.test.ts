import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/eventstore/eventStore.js';
import { readCheckpoint } from '../../src/projections/checkpoints.js';
import type { Projection } from '../../src/projections/projection.js';
import { applyBatch, CheckpointMovedError } from '../../src/projections/projectionRunner.js';
import { postgresSubject, type StoreSubject } from '../support/stores.js';

describe('applying a batch with its checkpoint', () => {
  let subject: StoreSubject;
  let events: RecordedEvent[];
  beforeAll(async () => {
    subject = await postgresSubject();
    await subject.store.appendToStream(`test-${randomUUID()}`, [
      { type: 'A', data: {} },
      { type: 'B', data: {} },
    ]);
    for (;;) {
      events = await subject.store.readAll({ from: 'start', maxCount: 10 });
      if (events.length === 2) break;
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  afterAll(async () => subject?.teardown());
  const pool = () => subject.database!.pool;

  /** Counts what it applies; the first apply waits until `release` is called. */
  const gatedProjection = (name: string, transactional = true) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const applied: string[] = [];
    const projection: Projection = {
      name,
      transactional,
      apply: async (tx, batch) => {
        await gate;
        await tx.query('SELECT 1');
        applied.push(...batch.map((e) => e.type));
      },
    };
    return { projection, applied, release };
  };

  for (const transactional of [true, false]) {
    describe(transactional ? 'in the projection’s transaction' : 'by compare-and-set', () => {
      it('of two writers starting from a checkpoint that does not exist yet, exactly one moves it', async () => {
        const { projection, applied, release } = gatedProjection(`gated-${randomUUID()}`, transactional);
        const first = applyBatch(pool(), projection, events, 'start');
        const second = applyBatch(pool(), projection, events, 'start');
        await new Promise((r) => setTimeout(r, 100));
        release();
        const results = await Promise.allSettled([first, second]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect(failed.reason).toBeInstanceOf(CheckpointMovedError);
        // In a transaction the loser applies nothing; by compare-and-set its idempotent writes happened.
        expect(applied).toEqual(transactional ? ['A', 'B'] : ['A', 'B', 'A', 'B']);
        expect(await readCheckpoint(pool(), projection.name)).toBe(events[1]!.position);
      });

      it('refuses a batch read from a position the checkpoint has left', async () => {
        const { projection, release } = gatedProjection(`moved-${randomUUID()}`, transactional);
        release();
        await applyBatch(pool(), projection, events.slice(0, 1), 'start');
        await expect(applyBatch(pool(), projection, events, 'start')).rejects.toBeInstanceOf(
          CheckpointMovedError,
        );
        expect(await readCheckpoint(pool(), projection.name)).toBe(events[0]!.position);
      });
    });
  }
});
