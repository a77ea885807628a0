import type pg from 'pg';
import { advanceLockedOrder } from '../commands/advanceOrder.js';
import { orderLockKey, type PurchaseContext } from '../commands/purchaseContext.js';
import { runAsSingleInstance } from '../platform/advisoryLocks.js';

export type HoldExpiryOptions = {
  ctx: PurchaseContext;
  pool: pg.Pool;
  clock?: () => Date;
  /** How often to look for holds past their expiry (default 1,000 ms). */
  intervalMs?: number;
  /** Holds handled per look at most (default 200). */
  batchSize?: number;
  /** Pause before a standby asks for the lock again (default 1,000 ms). */
  retryMs?: number;
  onError?: (error: unknown) => void;
};

/**
 * Returns holds nobody paid for to the pool. The queue is the process manager's hold table;
 * each release goes through the order's saga step (which cancels the order too) or, for a
 * hold without an order, straight to the inventory, and the inventory itself refuses to
 * release a hold that has not expired or is no longer held.
 */
export class HoldExpiry {
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  readonly #clock: () => Date;

  constructor(private readonly options: HoldExpiryOptions) {
    this.#clock = options.clock ?? (() => new Date());
  }

  start(): void {
    this.#running ??= runAsSingleInstance({
      pool: this.options.pool,
      name: 'process:hold-expiry',
      stop: this.#stop.signal,
      retryMs: this.options.retryMs,
      onError: this.options.onError,
      work: async (lost) => {
        while (!lost.aborted) {
          try {
            await this.expireDue();
          } catch (error) {
            this.options.onError?.(error);
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.options.intervalMs ?? 1000);
            lost.addEventListener(
              'abort',
              () => {
                clearTimeout(timer);
                resolve();
              },
              { once: true },
            );
          });
        }
      },
    });
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  /** One pass over the holds due now; returns how many it ended. */
  async expireDue(): Promise<number> {
    const { ctx, pool } = this.options;
    const now = this.#clock();
    const due = await pool.query<{ ticket_type_id: string; reservation_id: string }>(
      `SELECT ticket_type_id, reservation_id FROM process_holds WHERE expires_at <= $1
       ORDER BY expires_at LIMIT $2`,
      [now, this.options.batchSize ?? 200],
    );
    let ended = 0;
    for (const { ticket_type_id: ticketTypeId, reservation_id: reservationId } of due.rows) {
      await ctx.locks.withLock(orderLockKey(reservationId), async () => {
        const outcome = await advanceLockedOrder(ctx, reservationId, now);
        if (outcome === 'no_order') {
          const released = await ctx.writers.release(ticketTypeId, reservationId, 'expired', now);
          if (!released.ok && released.error.code === 'hold_not_expired') return;
        }
      });
      const reservation = await ctx.writers.reservation(ticketTypeId, reservationId);
      if (reservation?.status !== 'reserved') {
        await pool.query('DELETE FROM process_holds WHERE ticket_type_id = $1 AND reservation_id = $2', [
          ticketTypeId,
          reservationId,
        ]);
        ended++;
      }
    }
    return ended;
  }
}
