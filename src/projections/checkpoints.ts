import type { AllFrom } from '../eventstore/eventStore.js';
import type { Transaction } from './projection.js';

/** Where a projection has got to; `forUpdate` also locks its row until the transaction ends. */
export const readCheckpoint = async (
  db: Transaction,
  name: string,
  options: { forUpdate?: boolean } = {},
): Promise<AllFrom> => {
  const { rows } = await db.query<{ position: string }>(
    `SELECT position FROM projection_checkpoints WHERE name = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [name],
  );
  return rows[0]?.position ?? 'start';
};

export const writeCheckpoint = async (db: Transaction, name: string, position: string): Promise<void> => {
  await db.query(
    `INSERT INTO projection_checkpoints (name, position) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET position = $2, updated_at = now()`,
    [name, position],
  );
};
