import type pg from 'pg';
import { advanceLockedOrder } from '../commands/advanceOrder.js';
import { loadAggregate } from '../commands/loadAggregate.js';
import { orderLockKey, type PurchaseContext } from '../commands/purchaseContext.js';
import { settleAttempt } from '../commands/settlePayment.js';
import { paymentDecider, paymentStreamName } from '../domain/payment/decider.js';
import { runAsSingleInstance } from '../platform/advisoryLocks.js';
import { pause } from '../platform/pause.js';

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
  /** A hold ends this long after its expiry at the earliest (default 2,000 ms). */
  graceMs?: number;
  /**
   * A payment attempt still pending this long after it was requested is settled from the
   * gateway's books; longer than any charge can take (default 120,000 ms).
   */
  paymentSettleMs?: number;
  onError?: (error: unknown) => void;
};

/**
 * Returns holds nobody paid for to the pool, and settles payments whose process stopped
 * between charging and recording. The queue is the process manager's hold table;
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
          await pause(this.options.intervalMs ?? 1000, lost);
        }
      },
    });
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  /** One pass: holds due now, then payments left pending too long. Returns how many holds it ended. */
  async expireDue(): Promise<number> {
    const now = this.#clock();
    const ended = await this.#expireHolds(now);
    await this.#settleStalePayments(now);
    return ended;
  }

  async #expireHolds(now: Date): Promise<number> {
    const { ctx, pool } = this.options;
    // The grace absorbs clock differences between the process that set a hold's expiry and this one.
    const due = await pool.query<{ ticket_type_id: string; reservation_id: string }>(
      `SELECT ticket_type_id, reservation_id FROM process_holds WHERE expires_at <= $1
       ORDER BY expires_at LIMIT $2`,
      [new Date(now.getTime() - (this.options.graceMs ?? 2000)), this.options.batchSize ?? 200],
    );
    let ended = 0;
    for (const { ticket_type_id: ticketTypeId, reservation_id: reservationId } of due.rows) {
      try {
        await ctx.locks.withLock(orderLockKey(reservationId), async () => {
          const outcome = await advanceLockedOrder(ctx, reservationId, now);
          if (outcome === 'no_order') await ctx.writers.release(ticketTypeId, reservationId, 'expired', now);
        });
        const reservation = await ctx.writers.reservation(ticketTypeId, reservationId);
        if (reservation?.status !== 'reserved') {
          await pool.query('DELETE FROM process_holds WHERE ticket_type_id = $1 AND reservation_id = $2', [
            ticketTypeId,
            reservationId,
          ]);
          ended++;
        }
      } catch (error) {
        // One hold that cannot be ended now must not keep the others from it.
        this.options.onError?.(error);
      }
    }
    return ended;
  }

  async #settleStalePayments(now: Date): Promise<void> {
    const { ctx, pool } = this.options;
    const stale = await pool.query<{ attempt_id: string; order_id: string }>(
      `SELECT attempt_id, order_id FROM process_pending_payments WHERE requested_at <= $1
       ORDER BY requested_at LIMIT $2`,
      [new Date(now.getTime() - (this.options.paymentSettleMs ?? 120_000)), this.options.batchSize ?? 200],
    );
    for (const { attempt_id: attemptId, order_id: orderId } of stale.rows) {
      try {
        await ctx.locks.withLock(orderLockKey(orderId), async () => {
          const { state } = await loadAggregate(ctx.store, paymentDecider, paymentStreamName(orderId));
          const attempt = state.attempts.get(attemptId);
          if (attempt?.status === 'pending')
            await settleAttempt(ctx, orderId, attempt, now, { abandon: true });
          await advanceLockedOrder(ctx, orderId, now);
        });
        await pool.query('DELETE FROM process_pending_payments WHERE attempt_id = $1', [attemptId]);
      } catch (error) {
        this.options.onError?.(error);
      }
    }
  }
}
