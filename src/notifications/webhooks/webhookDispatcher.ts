import type pg from 'pg';
import { Agent, request } from 'undici';
import { BatchedWrites } from '../../platform/batchedWrites.js';
import { pause } from '../../platform/pause.js';
import { inTransaction } from '../../platform/postgres.js';
import type { WebhookEventType } from '../notificationReactor.js';
import { SIGNATURE_HEADER, signWebhookBody } from './webhookSignature.js';

export type WebhookAttemptResult = {
  webhookId: string;
  eventId: string;
  eventType: WebhookEventType;
  attempt: number;
  /** `pending`: it failed and will be tried again; `failed`: it failed for the last time. */
  status: 'delivered' | 'pending' | 'failed';
  statusCode: number | null;
  error: string | null;
};

export type WebhookDispatcherOptions = {
  pool: pg.Pool;
  /** How long a receiver has to answer; longer is a failed attempt (default 10 s). */
  timeoutMs?: number;
  /** Attempts before a delivery is marked failed (default 15). */
  maxAttempts?: number;
  /** Delay before the first retry, doubled after each failed attempt, at most an hour (default 1 s). */
  retryBaseMs?: number;
  /** Deliveries on the wire at once (default 32). */
  concurrency?: number;
  /** Pause when nothing is due (default 200 ms). */
  intervalMs?: number;
  onAttempt?: (result: WebhookAttemptResult) => void;
  onError?: (error: unknown) => void;
};

type Claimed = {
  delivery_id: string;
  webhook_id: string;
  event_id: string;
  event_type: WebhookEventType;
  body: Record<string, unknown>;
  attempts: number;
  url: string;
  secret: string;
};

/** What one attempt came to, as `#recordOutcomes` writes it. */
type AttemptOutcome = {
  delivery_id: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  retry_ms: number;
  max_attempts: number;
};

const LONGEST_RETRY_MS = 3_600_000;
/** A claim lasts the timeout and this much more: then a dispatcher that died is replaced. */
const LEASE_MARGIN_MS = 5_000;
const MAX_INT = 2 ** 31 - 1;
const ERROR_PAUSE_MS = 1000;
const STATISTICS_CHECK_MS = 1000;

/** Why an attempt got no answer, in words that name no secret (undici's errors name no URL). */
const describeFailure = (error: unknown): string => {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return `could not deliver: ${code}`;
  return error instanceof Error ? error.message : String(error);
};

/** How an attempt ended early: its deadline passed, or the dispatcher stopped. */
type CutShort = 'deadline' | 'stopped';

/**
 * Delivers webhook events at least once, in order per order and endpoint. A delivery is claimed
 * for a lease (SKIP LOCKED, so every processor shares the work) only when no earlier delivery of
 * the same order to the same endpoint is still pending; it is POSTed with a signature over its
 * timestamp and body, and a non-2xx answer, a timeout or a refused connection is retried with
 * exponential backoff until `maxAttempts`, then marked failed. Each attempt is logged from the
 * moment it is claimed, so one cut short by a crash shows, and is sent again when its lease ends.
 */
export class WebhookDispatcher {
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #retryBaseMs: number;
  readonly #outcomes = new BatchedWrites((outcomes: AttemptOutcome[]) => this.#recordOutcomes(outcomes));

  readonly #agent: Agent;
  /** The requests on the wire, to cut short when the dispatcher stops. */
  readonly #attemptsOnWire = new Set<AbortController>();
  /** The statistics refresh under way, if any; it runs beside the claims, not in their way. */
  #statisticsRefresh: Promise<void> | undefined;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxAttempts = options.maxAttempts ?? 15;
    this.#retryBaseMs = options.retryBaseMs ?? 1000;
    // Keep-alive connections, as many per endpoint as deliveries may be on the wire.
    this.#agent = new Agent({ connections: options.concurrency ?? 32, connectTimeout: this.#timeoutMs });
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops claiming, cuts short what is on the wire (each is tried again later) and waits for it. */
  async stop(): Promise<void> {
    this.#stop.abort();
    for (const attempt of this.#attemptsOnWire) attempt.abort('stopped' satisfies CutShort);
    await this.#running;
    await this.#agent.close();
  }

  /**
   * The queue can grow from nothing to tens of thousands of rows in the first seconds of a sale,
   * while PostgreSQL's statistics, until autovacuum comes by (a minute or more), still say it is
   * empty: its plans then sort every pending row at each claim (measured: 34 ms a claim instead
   * of 2, and a fifth of the throughput). So the statistics are refreshed as soon as they are stale.
   */
  async #refreshStatistics(): Promise<void> {
    const { rows } = await this.options.pool.query<{ stale: boolean }>(
      `SELECT s.n_mod_since_analyze > greatest(1000, c.reltuples / 5) AS stale
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
       WHERE s.relid = 'webhook_deliveries'::regclass`,
    );
    if (!rows[0]?.stale) return;
    await inTransaction(this.options.pool, async (tx) => {
      // One processor at a time: the others would queue on the table's lock for the same work.
      const { rows: lock } = await tx.query<{ locked: boolean }>(
        `SELECT pg_try_advisory_xact_lock(hashtextextended('webhook_deliveries statistics', 0)) AS locked`,
      );
      // Whole tables (the bodies have no statistics): only that resets the count of changes.
      if (lock[0]?.locked) await tx.query('ANALYZE webhook_deliveries, webhook_delivery_attempts');
    });
  }

  async #run(): Promise<void> {
    const concurrency = this.options.concurrency ?? 32;
    let statisticsCheckedAt = 0;
    // Claims go in batches: while deliveries are on the wire, wait for a quarter of the slots.
    const batch = Math.ceil(concurrency / 4);
    const onWire = new Set<Promise<unknown>>();
    const onError = (error: unknown) => this.options.onError?.(error);
    while (!this.#stop.signal.aborted) {
      if (!this.#statisticsRefresh && Date.now() - statisticsCheckedAt > STATISTICS_CHECK_MS) {
        statisticsCheckedAt = Date.now();
        this.#statisticsRefresh = this.#refreshStatistics()
          .catch(onError)
          .finally(() => {
            this.#statisticsRefresh = undefined;
          });
      }
      let claimed: Claimed[] = [];
      if (onWire.size === 0 || concurrency - onWire.size >= batch) {
        try {
          claimed = await this.#claim(concurrency - onWire.size);
        } catch (error) {
          // PostgreSQL away: say so once a second, not at every look.
          onError(error);
          await pause(ERROR_PAUSE_MS, this.#stop.signal);
        }
      }
      for (const delivery of claimed) {
        const sending = this.#deliver(delivery)
          .catch(onError)
          .finally(() => onWire.delete(sending));
        onWire.add(sending);
      }
      // A delivery that ends may free the next one of its order: look again then, too.
      if (claimed.length === 0 || concurrency - onWire.size < batch)
        await Promise.race([pause(this.options.intervalMs ?? 200, this.#stop.signal), ...onWire]);
    }
    await Promise.all([...onWire, this.#statisticsRefresh]);
  }

  async #claim(room: number): Promise<Claimed[]> {
    if (room <= 0) return [];
    const { rows } = await this.options.pool.query<Claimed>(
      // The checks are subqueries, evaluated only for the rows the due index gives up to the limit.
      // Deliveries of a removed webhook are cancelled as they come up (removal cancels what it
      // sees; a reactor batch written meanwhile may add a few).
      `WITH due AS (
         SELECT d.delivery_id,
                (SELECT w.deleted_at IS NOT NULL FROM webhooks w WHERE w.webhook_id = d.webhook_id) AS removed
         FROM webhook_deliveries d
         WHERE d.status = 'pending' AND d.next_attempt_at <= now()
           AND (d.leased_until IS NULL OR d.leased_until <= now())
           AND NOT (SELECT EXISTS (SELECT 1 FROM webhook_deliveries earlier
                                   WHERE earlier.order_id = d.order_id AND earlier.webhook_id = d.webhook_id
                                     AND earlier.status = 'pending' AND earlier.delivery_id < d.delivery_id))
         ORDER BY d.next_attempt_at, d.delivery_id LIMIT $1
         FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE webhook_deliveries d
         SET attempts = d.attempts + 1, leased_until = now() + $2 * interval '1 millisecond'
         FROM due WHERE d.delivery_id = due.delivery_id AND NOT due.removed
         RETURNING d.delivery_id, d.webhook_id, d.event_id, d.event_type, d.body, d.attempts
       ), cancelled AS (
         UPDATE webhook_deliveries d SET status = 'cancelled', finished_at = now()
         FROM due WHERE d.delivery_id = due.delivery_id AND due.removed
       ), logged AS (
         INSERT INTO webhook_delivery_attempts (delivery_id, attempt, started_at)
         SELECT delivery_id, attempts, now() FROM claimed
       )
       SELECT c.*, w.url, w.secret FROM claimed c JOIN webhooks w USING (webhook_id)
       ORDER BY c.delivery_id`,
      [room, this.#timeoutMs + LEASE_MARGIN_MS],
    );
    return rows;
  }

  async #deliver(delivery: Claimed): Promise<WebhookAttemptResult> {
    const { statusCode, error, cutShort } = await this.#send(delivery);
    const outcome: AttemptOutcome = {
      delivery_id: delivery.delivery_id,
      attempt: delivery.attempts,
      status_code: statusCode,
      error,
      retry_ms: cutShort ? 0 : Math.min(LONGEST_RETRY_MS, this.#retryBaseMs * 2 ** (delivery.attempts - 1)),
      max_attempts: cutShort ? MAX_INT : this.#maxAttempts,
    };
    const status = await this.#outcomes.submit(outcome);
    const result: WebhookAttemptResult = {
      webhookId: delivery.webhook_id,
      eventId: delivery.event_id,
      eventType: delivery.event_type,
      attempt: delivery.attempts,
      // None: another dispatcher took the delivery over after this one's lease ran out.
      status: status ?? (error === null ? 'delivered' : 'pending'),
      statusCode,
      error,
    };
    this.options.onAttempt?.(result);
    return result;
  }

  /**
   * One attempt, within one deadline from the first byte to the answer's end: the lease counts on
   * it. `cutShort`: stopped by a shutdown, to be tried again at once, and never the last attempt.
   */
  async #send(
    delivery: Claimed,
  ): Promise<{ statusCode: number | null; error: string | null; cutShort: boolean }> {
    // The same bytes on every attempt; only the signature's timestamp is new.
    const body = JSON.stringify(delivery.body);
    const attempt = new AbortController();
    const deadline = setTimeout(() => attempt.abort('deadline' satisfies CutShort), this.#timeoutMs);
    this.#attemptsOnWire.add(attempt);
    try {
      // undici's request, not fetch: a third of the CPU per delivery, which counts in a sell-out.
      // It follows no redirect: the registered URL is the one that gets the data.
      const response = await request(delivery.url, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'FlashTix-Webhooks/1',
          [SIGNATURE_HEADER]: signWebhookBody(delivery.secret, body, Math.floor(Date.now() / 1000)),
          'x-flashtix-event-id': delivery.event_id,
          'x-flashtix-event-type': delivery.event_type,
          'x-flashtix-delivery-attempt': String(delivery.attempts),
        },
        body,
        signal: attempt.signal,
      });
      await response.body.dump();
      // dump() ends quietly when the deadline cuts the body short: that answer never finished.
      attempt.signal.throwIfAborted();
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      return {
        statusCode: response.statusCode,
        error: ok ? null : `answered ${response.statusCode}`,
        cutShort: false,
      };
    } catch (failure) {
      const reason: unknown = attempt.signal.aborted ? attempt.signal.reason : undefined;
      if (reason === 'deadline')
        return { statusCode: null, error: `no answer within ${this.#timeoutMs} ms`, cutShort: false };
      if (reason === 'stopped')
        return { statusCode: null, error: 'cut short: the dispatcher stopped', cutShort: true };
      return { statusCode: null, error: describeFailure(failure), cutShort: false };
    } finally {
      clearTimeout(deadline);
      this.#attemptsOnWire.delete(attempt);
    }
  }

  /** Each attempt's outcome, and what becomes of its delivery; many attempts in one statement. */
  async #recordOutcomes(outcomes: AttemptOutcome[]): Promise<(WebhookAttemptResult['status'] | undefined)[]> {
    const { rows } = await this.options.pool.query<{
      delivery_id: string;
      status: WebhookAttemptResult['status'];
    }>(
      `WITH outcome AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS o(delivery_id bigint, attempt int, status_code int,
                                                          error text, retry_ms bigint, max_attempts int)
       ), attempt AS (
         UPDATE webhook_delivery_attempts a SET finished_at = now(), status_code = o.status_code, error = o.error
         FROM outcome o WHERE a.delivery_id = o.delivery_id AND a.attempt = o.attempt
       ), settled AS (
         UPDATE webhook_deliveries d SET
           status = CASE WHEN o.error IS NULL THEN 'delivered' WHEN d.attempts >= o.max_attempts THEN 'failed'
                         ELSE 'pending' END,
           next_attempt_at = CASE WHEN o.error IS NULL OR d.attempts >= o.max_attempts THEN d.next_attempt_at
                                  ELSE now() + o.retry_ms * interval '1 millisecond' END,
           finished_at = CASE WHEN o.error IS NULL OR d.attempts >= o.max_attempts THEN now() END,
           leased_until = NULL
         FROM outcome o
         WHERE d.delivery_id = o.delivery_id AND d.status = 'pending' AND (o.error IS NULL OR d.attempts = o.attempt)
         RETURNING d.delivery_id, d.webhook_id, d.order_id, d.status, d.next_attempt_at
       ), followers AS (
         -- The order's later events wait for this one: they are due when it is next, so that a
         -- claim does not walk past them again and again while it backs off.
         UPDATE webhook_deliveries f
         SET next_attempt_at = CASE WHEN s.status = 'pending' THEN s.next_attempt_at ELSE now() END
         FROM settled s
         WHERE f.order_id = s.order_id AND f.webhook_id = s.webhook_id AND f.status = 'pending'
           AND f.delivery_id > s.delivery_id
       )
       SELECT delivery_id, status FROM settled`,
      [JSON.stringify(outcomes)],
    );
    const statusOf = new Map(rows.map((r) => [r.delivery_id, r.status]));
    return outcomes.map((o) => statusOf.get(o.delivery_id));
  }
}
