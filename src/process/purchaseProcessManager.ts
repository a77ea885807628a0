import type pg from 'pg';
import { ZodError } from 'zod';
import { advanceOrder } from '../commands/advanceOrder.js';
import type { PurchaseContext } from '../commands/purchaseContext.js';
import { DomainError } from '../domain/decider.js';
import { inventoryEventSchema } from '../domain/inventory/events.js';
import { orderEventSchema } from '../domain/order/events.js';
import { paymentEventSchema } from '../domain/payment/events.js';
import type { AllFrom, RecordedEvent } from '../eventstore/eventStore.js';
import { streamCategory, streamId } from '../eventstore/streamName.js';
import { runAsSingleInstance } from '../platform/advisoryLocks.js';

export type ProcessManagerOptions = {
  ctx: PurchaseContext;
  /** Checkpoint and hold tables; also where the single-instance lock is taken. */
  pool: pg.Pool;
  name?: string;
  clock?: () => Date;
  /** Save the checkpoint after this many events at the latest (default 100)... */
  checkpointEvery?: number;
  /** ...or this long after the last unsaved one (default 200 ms). */
  checkpointAfterMs?: number;
  /** Pause before trying again after a failure, or before a standby asks for the lock again (default 1,000 ms). */
  retryMs?: number;
  onError?: (error: unknown) => void;
};

const PARK_AFTER_ATTEMPTS = 3;
const HOLDS_PER_WRITE = 500;

/**
 * Follows `$all` from its own checkpoint and drives every purchase to an end through
 * advanceOrder, which is idempotent: an event handled twice (after a crash, before the
 * checkpoint caught up) changes nothing the second time. It also keeps the hold table that
 * hold expiry works from. One instance runs at a time; others stand by.
 */
export class PurchaseProcessManager {
  readonly name: string;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  readonly #clock: () => Date;
  /** Holds seen and not yet written: written together, before anything that depends on them. */
  #newHolds: { ticketTypeId: string; reservationId: string; expiresAt: string }[] = [];
  #holdsWritten: Promise<void> = Promise.resolve();

  constructor(private readonly options: ProcessManagerOptions) {
    this.name = options.name ?? 'purchase';
    this.#clock = options.clock ?? (() => new Date());
  }

  start(): void {
    this.#running ??= runAsSingleInstance({
      pool: this.options.pool,
      name: `process:${this.name}`,
      stop: this.#stop.signal,
      work: (lost) => this.#follow(lost),
      retryMs: this.options.retryMs,
      onError: this.options.onError,
    });
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  /**
   * Writes the holds seen so far in one statement. Writes run one after another, so a hold's
   * row always lands before anything later removes it.
   */
  #writeHolds(): Promise<void> {
    const holds = this.#newHolds;
    this.#newHolds = [];
    if (holds.length === 0) return this.#holdsWritten;
    this.#holdsWritten = this.#holdsWritten.then(async () => {
      await this.options.pool.query(
        `INSERT INTO process_holds (ticket_type_id, reservation_id, expires_at)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])
         ON CONFLICT DO NOTHING`,
        [holds.map((h) => h.ticketTypeId), holds.map((h) => h.reservationId), holds.map((h) => h.expiresAt)],
      );
    });
    // A save awaits this only once the save before it is done: until then a failure here must
    // not count as unhandled (which would end the process). Whoever awaits it still sees it.
    this.#holdsWritten.catch(() => undefined);
    return this.#holdsWritten;
  }

  /** Handles one event: what the subscription loop does for each. */
  async #handle(event: RecordedEvent): Promise<void> {
    const now = this.#clock();
    switch (streamCategory(event.streamName)) {
      case 'inventory': {
        const parsed = inventoryEventSchema.safeParse(event);
        if (!parsed.success) return;
        const e = parsed.data;
        const ticketTypeId = streamId(event.streamName);
        if (e.type === 'SeatsReserved') {
          // A flash sale is mostly holds: they wait for the next write instead of one each.
          this.#newHolds.push({
            ticketTypeId,
            reservationId: e.data.reservationId,
            expiresAt: e.data.expiresAt,
          });
          if (this.#newHolds.length >= HOLDS_PER_WRITE) await this.#writeHolds();
          return;
        }
        await this.#writeHolds();
        if (e.type === 'ReservationCommitted' || e.type === 'ReservationReleased') {
          await this.options.pool.query(
            'DELETE FROM process_holds WHERE ticket_type_id = $1 AND reservation_id = $2',
            [ticketTypeId, e.data.reservationId],
          );
          if (e.type === 'ReservationReleased' && e.data.reason === 'expired') {
            const releasedAt = new Date(e.data.releasedAt);
            await advanceOrder(this.options.ctx, e.data.reservationId, releasedAt > now ? releasedAt : now);
          }
        }
        return;
      }
      case 'payment': {
        const parsed = paymentEventSchema.safeParse(event);
        if (!parsed.success) return;
        const e = parsed.data;
        if (e.type === 'PaymentRequested') {
          await this.options.pool.query(
            `INSERT INTO process_pending_payments (attempt_id, order_id, requested_at) VALUES ($1, $2, $3)
             ON CONFLICT (attempt_id) DO UPDATE SET requested_at = excluded.requested_at`,
            [e.data.attemptId, e.data.orderId, e.data.requestedAt],
          );
          return;
        }
        if (e.type === 'PaymentSucceeded' || e.type === 'PaymentFailed')
          await this.options.pool.query('DELETE FROM process_pending_payments WHERE attempt_id = $1', [
            e.data.attemptId,
          ]);
        if (e.type === 'PaymentSucceeded' || (e.type === 'PaymentFailed' && !e.data.retryable))
          await advanceOrder(this.options.ctx, e.data.orderId, now);
        return;
      }
      case 'order': {
        const parsed = orderEventSchema.safeParse(event);
        // A payment may have landed after the order ended: advanceOrder refunds it. (Rejected
        // orders, tens of thousands at a sell-out, cannot have been paid; stray holds of theirs
        // are found by hold expiry.)
        if (parsed.success && parsed.data.type === 'OrderCancelled')
          await advanceOrder(this.options.ctx, parsed.data.data.orderId, now);
        return;
      }
    }
  }

  /**
   * An error from the stores (a lost connection) ends the run: the loop starts again from the
   * checkpoint. An event that keeps failing for a reason of its own (a refusal no step expects)
   * is tried a few times, then reported and passed over, so one broken order cannot stop every
   * order behind it; hold expiry still sees its holds.
   */
  async #handleOrPark(event: RecordedEvent, lost: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#handle(event);
        return;
      } catch (error) {
        if (!(error instanceof DomainError || error instanceof ZodError)) throw error;
        this.options.onError?.(error);
        if (attempt >= PARK_AFTER_ATTEMPTS) {
          this.options.onError?.(
            new Error(`passed over ${event.type} at ${event.position} on ${event.streamName}`, {
              cause: error,
            }),
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        if (lost.aborted) throw error;
      }
    }
  }

  async #follow(lost: AbortSignal): Promise<void> {
    const { pool } = this.options;
    // A failed hold write fails every later write and save of its run, so the checkpoint never
    // passes it; the next run starts clean from the checkpoint and sees those holds again.
    this.#newHolds = [];
    this.#holdsWritten = Promise.resolve();
    let from = await readProcessCheckpoint(pool, this.name);
    let unsaved = 0;
    let timer: NodeJS.Timeout | undefined;
    let saving: Promise<void> = Promise.resolve();
    const save = () => {
      clearTimeout(timer);
      timer = undefined;
      if (unsaved === 0 || from === 'start') return saving;
      const position = from;
      unsaved = 0;
      // Holds up to the checkpoint are written first: a checkpoint never passes an unwritten one.
      const holdsWritten = this.#writeHolds();
      // A failed save must not stop the later ones: each starts whatever became of the last.
      saving = saving
        .catch(() => undefined)
        .then(async () => {
          await holdsWritten;
          await pool.query(
            `INSERT INTO process_checkpoints (name, position) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET position = $2, updated_at = now()`,
            [this.name, position],
          );
        });
      return saving;
    };
    const subscription = this.options.ctx.store.subscribeToAll({ from });
    // The lock may have been lost (or a stop asked for) while the checkpoint was being read.
    if (lost.aborted) void subscription.close();
    lost.addEventListener('abort', () => void subscription.close(), { once: true });
    try {
      for await (const event of subscription) {
        await this.#handleOrPark(event, lost);
        from = event.position;
        unsaved++;
        if (unsaved >= (this.options.checkpointEvery ?? 100)) await save();
        else
          timer ??= setTimeout(
            () => void save().catch(this.options.onError),
            this.options.checkpointAfterMs ?? 200,
          );
      }
    } finally {
      await subscription.close();
      await save();
    }
  }
}

/** Where a process manager has got to in `$all`. */
export const readProcessCheckpoint = async (pool: pg.Pool, name = 'purchase'): Promise<AllFrom> => {
  const saved = await pool.query<{ position: string }>(
    'SELECT position FROM process_checkpoints WHERE name = $1',
    [name],
  );
  return saved.rows[0]?.position ?? 'start';
};
