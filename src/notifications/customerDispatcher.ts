import type pg from 'pg';
import { pause } from '../platform/pause.js';
import type { NotificationKind } from './notificationReactor.js';
import type { Notifier } from './notifier.js';

export type CustomerDispatcherOptions = {
  pool: pg.Pool;
  notifier: Notifier;
  /** Pause when nothing is due (default 200 ms). */
  intervalMs?: number;
  /** Delay before the first retry, doubled per failed attempt (default 1 s, at most an hour). */
  retryBaseMs?: number;
  batchSize?: number;
  /** How long a claimed notification is left to its dispatcher before another may take it (default 30 s). */
  leaseMs?: number;
  onError?: (error: unknown) => void;
};

type DueRow = {
  notification_id: string;
  customer_id: string;
  order_id: string;
  kind: NotificationKind;
  payload: Record<string, unknown>;
  created_at: Date;
  delivery_attempts: number;
};

const LONGEST_RETRY_MS = 3_600_000;

/**
 * Delivers the outbox to the customer channel, at least once. Due notifications are claimed for
 * a lease (SKIP LOCKED, so several processes share the work and none takes one another holds),
 * sent, then marked delivered; a failed send is tried again later, with exponential backoff, and
 * one whose dispatcher died is taken again when its lease ends.
 */
export class CustomerDispatcher {
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;

  constructor(private readonly options: CustomerDispatcherOptions) {}

  start(): void {
    this.#running ??= (async () => {
      while (!this.#stop.signal.aborted) {
        let sent = 0;
        try {
          sent = await this.dispatchDue();
        } catch (error) {
          this.options.onError?.(error);
        }
        if (sent === 0) await pause(this.options.intervalMs ?? 200, this.#stop.signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  /** One pass over what is due now; returns how many it delivered. */
  async dispatchDue(): Promise<number> {
    const { pool, notifier } = this.options;
    const retryBaseMs = this.options.retryBaseMs ?? 1000;
    // Claimed in one short statement, not held in a transaction while the channel answers: an
    // open transaction would hold back what every reader of the log sees.
    const { rows } = await pool.query<DueRow>(
      `UPDATE notifications n SET next_attempt_at = now() + $2 * interval '1 millisecond'
       FROM (SELECT notification_id FROM notifications
             WHERE delivered_at IS NULL AND next_attempt_at <= now()
             ORDER BY created_at, notification_id LIMIT $1
             FOR UPDATE SKIP LOCKED) due
       WHERE n.notification_id = due.notification_id
       RETURNING n.notification_id, n.customer_id, n.order_id, n.kind, n.payload, n.created_at,
                 n.delivery_attempts`,
      [this.options.batchSize ?? 100, this.options.leaseMs ?? 30_000],
    );
    rows.sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
    const delivered: string[] = [];
    for (const row of rows) {
      try {
        await notifier.notify({
          notificationId: row.notification_id,
          customerId: row.customer_id,
          kind: row.kind,
          orderId: row.order_id,
          payload: row.payload,
          createdAt: row.created_at.toISOString(),
        });
        delivered.push(row.notification_id);
      } catch (error) {
        const delayMs = Math.min(LONGEST_RETRY_MS, retryBaseMs * 2 ** row.delivery_attempts);
        await pool.query(
          `UPDATE notifications SET delivery_attempts = delivery_attempts + 1,
             next_attempt_at = now() + $2 * interval '1 millisecond', last_error = $3
           WHERE notification_id = $1`,
          [row.notification_id, delayMs, error instanceof Error ? error.message : String(error)],
        );
      }
    }
    // The ones that went, in one statement: a sell-out makes thousands of refusals to tell.
    if (delivered.length > 0)
      await pool.query(
        `UPDATE notifications SET delivered_at = now(), delivery_attempts = delivery_attempts + 1, last_error = NULL
         WHERE notification_id = ANY($1::uuid[])`,
        [delivered],
      );
    return delivered.length;
  }
}
