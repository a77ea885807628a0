import type { AllFrom } from '../eventstore/eventStore.js';
import type { Transaction } from './projection.js';

export class CheckpointMovedError extends Error {
  override readonly name = 'CheckpointMovedError';
}

/** Where a projection has got to (for reading only; writers use lockCheckpoint or moveCheckpoint). */
export const readCheckpoint = async (db: Transaction, name: string): Promise<AllFrom> => {
  const { rows } = await db.query<{ position: string }>(
    'SELECT position FROM projection_checkpoints WHERE name = $1',
    [name],
  );
  return rows[0]?.position ?? 'start';
};

// The row exists from the first write on, so that FOR UPDATE and compare-and-set always have a
// row to hold: a missing row would let two writers in at once.
const ensureRow = (db: Transaction, name: string) =>
  db.query(
    `INSERT INTO projection_checkpoints (name, position) VALUES ($1, 'start') ON CONFLICT (name) DO NOTHING`,
    [name],
  );

/** Locks the projection's checkpoint row until the transaction ends and says where it is. */
export const lockCheckpoint = async (tx: Transaction, name: string): Promise<AllFrom> => {
  await ensureRow(tx, name);
  const { rows } = await tx.query<{ position: string }>(
    'SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE',
    [name],
  );
  return rows[0]!.position;
};

export const writeCheckpoint = async (db: Transaction, name: string, position: AllFrom): Promise<void> => {
  await db.query(
    `INSERT INTO projection_checkpoints (name, position) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET position = $2, updated_at = now()`,
    [name, position],
  );
};

/** Moves the checkpoint from `from` to `to`, or throws CheckpointMovedError if it is elsewhere. */
export const moveCheckpoint = async (
  db: Transaction,
  name: string,
  from: AllFrom,
  to: AllFrom,
): Promise<void> => {
  await ensureRow(db, name);
  const moved = await db.query(
    'UPDATE projection_checkpoints SET position = $3, updated_at = now() WHERE name = $1 AND position = $2',
    [name, from, to],
  );
  if (moved.rowCount !== 1) throw new CheckpointMovedError(`${name} is no longer at ${from}`);
};
