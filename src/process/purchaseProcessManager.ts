import type pg from 'pg';
import { advanceOrder } from '../commands/advanceOrder.js';
import type { PurchaseContext } from '../commands/purchaseContext.js';
import { inventoryEventSchema } from '../domain/inventory/events.js';
import { orderEventSchema } from '../domain/order/events.js';
import { paymentEventSchema } from '../domain/payment/events.js';
import type { AllFrom, RecordedEvent } from '../eventstore/eventStore.js';
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

const category = (streamName: string) => streamName.slice(0, streamName.indexOf('-'));
const streamId = (streamName: string) => streamName.slice(streamName.indexOf('-') + 1);

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

  /** Handles one event: what the subscription loop does for each; exposed for tests. */
  async handle(event: RecordedEvent): Promise<void> {
    const now = this.#clock();
    switch (category(event.streamName)) {
      case 'inventory': {
        const parsed = inventoryEventSchema.safeParse(event);
        if (!parsed.success) return;
        const e = parsed.data;
        const ticketTypeId = streamId(event.streamName);
        if (e.type === 'SeatsReserved') {
          await this.options.pool.query(
            `INSERT INTO process_holds (ticket_type_id, reservation_id, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING`,
            [ticketTypeId, e.data.reservationId, e.data.expiresAt],
          );
        } else if (e.type === 'ReservationCommitted' || e.type === 'ReservationReleased') {
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
        if (e.type === 'PaymentSucceeded' || (e.type === 'PaymentFailed' && !e.data.retryable))
          await advanceOrder(this.options.ctx, e.data.orderId, now);
        return;
      }
      case 'order': {
        const parsed = orderEventSchema.safeParse(event);
        // A payment may have landed after the order ended: advanceOrder refunds it.
        if (parsed.success && (parsed.data.type === 'OrderCancelled' || parsed.data.type === 'OrderRejected'))
          await advanceOrder(this.options.ctx, parsed.data.data.orderId, now);
        return;
      }
    }
  }

  async #follow(lost: AbortSignal): Promise<void> {
    const { pool } = this.options;
    const saved = await pool.query<{ position: string }>(
      'SELECT position FROM process_checkpoints WHERE name = $1',
      [this.name],
    );
    let from: AllFrom = saved.rows[0]?.position ?? 'start';
    let unsaved = 0;
    let timer: NodeJS.Timeout | undefined;
    let saving: Promise<void> = Promise.resolve();
    const save = () => {
      clearTimeout(timer);
      timer = undefined;
      if (unsaved === 0 || from === 'start') return saving;
      const position = from;
      unsaved = 0;
      saving = saving.then(async () => {
        await pool.query(
          `INSERT INTO process_checkpoints (name, position) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET position = $2, updated_at = now()`,
          [this.name, position],
        );
      });
      return saving;
    };
    const subscription = this.options.ctx.store.subscribeToAll({ from });
    lost.addEventListener('abort', () => void subscription.close(), { once: true });
    try {
      for await (const event of subscription) {
        await this.handle(event);
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
