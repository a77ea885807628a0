import pg from 'pg';
import { ChangeSignal } from '../changeSignal.js';
import {
  type AllFrom,
  type AppendResult,
  assertAppendable,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  padPositionPart,
  type ReadStreamResult,
  type RecordedEvent,
  type StreamRevision,
  type Subscription,
  WrongExpectedVersionError,
} from '../eventStore.js';
import { pollingSubscription } from '../pollingSubscription.js';
import { appendStatement, groupAppendStatement } from './appendStatement.js';
import { type AppendedRow, GroupCommit, type GroupCommitOptions, type PendingAppend } from './groupCommit.js';
import { NOTIFY_CHANNEL } from './schema.js';

export type PostgresEventStoreOptions = {
  pool: pg.Pool;
  /** Fallback read interval for subscriptions when no notification arrives (default 250 ms). */
  pollIntervalMs?: number;
  /** Events per `$all` page a subscription reads (default 500). */
  pageSize?: number;
  /** Hears about failures of the notification listener and of subscription reads (both recover by themselves). */
  onBackgroundError?: (error: unknown) => void;
  /** Commit appends that arrive together as one transaction (default on); `false` commits each alone. */
  groupCommit?: GroupCommitOptions | false;
};

type EventRow = {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  revision: string;
  event_id: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  created_at: Date;
};

// The columns come back as text (bigint and xid8 do not fit a JS number), so every ORDER BY
// names the table's column: a bare name would sort by the text output column instead.
const EVENT_COLUMNS = `global_position::text, transaction_id::text, stream_id, revision::text, event_id::text,
  type, data, metadata, created_at`;

/** A position is `transactionId/globalPosition`, both padded so positions compare as strings. */
const toPosition = (transactionId: string, globalPosition: string): string =>
  `${padPositionPart(transactionId)}/${padPositionPart(globalPosition)}`;

const parsePosition = (position: string): [string, string] => {
  const match = /^(\d{1,20})\/(\d{1,20})$/.exec(position);
  if (!match) throw new RangeError(`not a position of this store: ${position}`);
  return [BigInt(match[1]!).toString(), BigInt(match[2]!).toString()];
};

const toRecorded = (row: EventRow): RecordedEvent => ({
  streamName: row.stream_id,
  revision: BigInt(row.revision),
  position: toPosition(row.transaction_id, row.global_position),
  id: row.event_id,
  type: row.type,
  data: row.data,
  metadata: row.metadata,
  createdAt: row.created_at,
});

const UNIQUE_VIOLATION = '23505';
/** Other processes learn of appends at most this often; this process's subscriptions at once. */
const NOTIFY_DEBOUNCE_MS = 5;

export class PostgresEventStore implements EventStore {
  readonly #pool: pg.Pool;
  readonly #signal = new ChangeSignal();
  readonly #subscriptions = new Set<Subscription>();
  readonly #pollIntervalMs: number;
  readonly #pageSize: number;
  #listener: pg.Client | undefined;
  #listening: Promise<void> | undefined;
  #notifyTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #onBackgroundError: (error: unknown) => void;
  readonly #groupCommit: GroupCommit | undefined;

  constructor(options: PostgresEventStoreOptions) {
    this.#pool = options.pool;
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
    this.#pageSize = options.pageSize ?? 500;
    this.#onBackgroundError = options.onBackgroundError ?? (() => undefined);
    this.#groupCommit =
      options.groupCommit === false
        ? undefined
        : new GroupCommit((group) => this.#commitGroup(group), options.groupCommit);
  }

  async appendToStream(
    streamName: string,
    events: readonly NewEvent[],
    options: { expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    assertAppendable(events, expected);
    const row = this.#groupCommit
      ? await this.#groupCommit.append(streamName, events, expected)
      : await this.#appendAlone(streamName, events, expected);
    if (!row)
      throw new WrongExpectedVersionError(streamName, expected, await this.#streamRevision(streamName));
    this.#announceAppend();
    return {
      nextExpectedRevision: BigInt(row.revision),
      position: toPosition(row.transaction_id, row.global_position),
    };
  }

  async #appendAlone(
    streamName: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendedRow | undefined> {
    try {
      const result = await this.#pool.query<Partial<AppendedRow>>(
        appendStatement(streamName, events, expected),
      );
      const row = result.rows[0];
      if (!row?.revision || !row.global_position || !row.transaction_id) return undefined;
      return {
        revision: row.revision,
        global_position: row.global_position,
        transaction_id: row.transaction_id,
      };
    } catch (error) {
      // Only the stream row's key means "someone else created it"; a duplicate (stream, revision)
      // in es_events would mean es_streams lost track, which must not pass for a conflict.
      const { code, constraint } = error as { code?: string; constraint?: string };
      if (code !== UNIQUE_VIOLATION || constraint !== 'es_streams_pkey') throw error;
      return undefined;
    }
  }

  /**
   * Commits a group in one statement; each stream left out of the answer had a conflict. When
   * PostgreSQL refuses the statement, nothing of it was written (one statement is one
   * transaction), so each append is tried alone: one bad append fails only its own caller.
   * Any other failure (a lost connection) leaves the outcome unknown and goes to every caller.
   */
  async #commitGroup(group: PendingAppend[]): Promise<void> {
    if (group.length === 1) {
      const [append] = group as [PendingAppend];
      append.resolve(await this.#appendAlone(append.streamName, append.events, append.expected));
      return;
    }
    const eachAlone = () =>
      Promise.all(
        group.map((a) => this.#appendAlone(a.streamName, a.events, a.expected).then(a.resolve, a.reject)),
      );
    let statement: ReturnType<typeof groupAppendStatement>;
    try {
      statement = groupAppendStatement(group);
    } catch {
      // An append whose data cannot become JSON: alone, it fails its own caller only.
      await eachAlone();
      return;
    }
    let rows: (AppendedRow & { stream_id: string })[];
    try {
      ({ rows } = await this.#pool.query<AppendedRow & { stream_id: string }>(statement));
    } catch (error) {
      if (!(error instanceof pg.DatabaseError)) throw error;
      await eachAlone();
      return;
    }
    const byStream = new Map(rows.map(({ stream_id, ...row }) => [stream_id, row]));
    for (const append of group) append.resolve(byStream.get(append.streamName));
  }

  async readStream(
    streamName: string,
    options: { fromRevision?: bigint; maxCount?: number } = {},
  ): Promise<ReadStreamResult> {
    // One statement, so the stream revision and the events come from one snapshot; named, so
    // each connection plans it once.
    const result = await this.#pool.query<EventRow & { stream_revision: string }>({
      name: 'flashtix-read-stream',
      text: `SELECT s.revision::text AS stream_revision, e.*
       FROM es_streams s
       LEFT JOIN LATERAL (
         SELECT ${EVENT_COLUMNS} FROM es_events
         WHERE stream_id = s.stream_id AND revision >= $2
         ORDER BY es_events.revision LIMIT $3
       ) e ON true
       WHERE s.stream_id = $1`,
      values: [streamName, (options.fromRevision ?? 0n).toString(), options.maxCount ?? null],
    });
    const first = result.rows[0];
    if (!first) return { revision: 'no_stream', events: [] };
    return {
      revision: BigInt(first.stream_revision),
      events: result.rows.filter((r) => r.global_position !== null).map(toRecorded),
    };
  }

  async readAll(options: { from?: AllFrom; maxCount?: number } = {}): Promise<RecordedEvent[]> {
    const [transactionId, globalPosition] =
      options.from === undefined || options.from === 'start' ? ['0', '0'] : parsePosition(options.from);
    const result = await this.#pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events
       WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
         AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY es_events.transaction_id, es_events.global_position
       LIMIT $3`,
      [transactionId, globalPosition, options.maxCount ?? 1000],
    );
    return result.rows.map(toRecorded);
  }

  subscribeToAll(options: { from?: AllFrom } = {}): Subscription {
    if (this.#closed) throw new Error('the event store is closed');
    void this.#listen();
    const subscription = pollingSubscription({
      readPage: (from, maxCount) => this.readAll({ from, maxCount }),
      signal: this.#signal,
      from: options.from ?? 'start',
      pageSize: this.#pageSize,
      pollIntervalMs: this.#pollIntervalMs,
      onReadError: this.#onBackgroundError,
      onClose: () => this.#subscriptions.delete(subscription),
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#notifyTimer);
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    await this.#listening;
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  /**
   * Wakes this process's subscriptions at once and, a few milliseconds later, other processes'
   * through NOTIFY. Notifying from a statement of its own rather than inside the append keeps
   * appends free of the commit-time lock that PostgreSQL takes for notifying transactions, and
   * a burst of appends costs one notification.
   */
  #announceAppend(): void {
    this.#signal.notify();
    if (this.#notifyTimer || this.#closed) return;
    this.#notifyTimer = setTimeout(() => {
      this.#notifyTimer = undefined;
      this.#pool.query(`NOTIFY ${NOTIFY_CHANNEL}`).catch(this.#onBackgroundError);
    }, NOTIFY_DEBOUNCE_MS);
  }

  async #streamRevision(streamName: string): Promise<StreamRevision> {
    const result = await this.#pool.query<{ revision: string }>(
      'SELECT revision::text FROM es_streams WHERE stream_id = $1',
      [streamName],
    );
    const row = result.rows[0];
    return row ? BigInt(row.revision) : 'no_stream';
  }

  /**
   * One LISTEN connection per store wakes every subscription. When it fails, subscriptions
   * go on polling and the listener is opened again on the next subscription or after a pause.
   */
  #listen(): Promise<void> {
    this.#listening ??= (async () => {
      // Keep-alive, so that a silently dropped connection is noticed and replaced.
      const client = new pg.Client({ ...this.#pool.options, keepAlive: true });
      let dropped = false;
      const drop = () => {
        if (dropped) return;
        dropped = true;
        this.#dropListener(client);
      };
      client.on('notification', () => this.#signal.notify());
      client.on('error', (error) => {
        this.#onBackgroundError(error);
        drop();
      });
      client.on('end', drop);
      try {
        await client.connect();
        await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
        if (this.#closed) await client.end();
        else this.#listener = client;
      } catch (error) {
        this.#onBackgroundError(error);
        drop();
      }
    })();
    return this.#listening;
  }

  #dropListener(client: pg.Client): void {
    if (this.#listener === client) this.#listener = undefined;
    this.#listening = undefined;
    client.end().catch(() => undefined);
    if (this.#closed) return;
    // Notifications missed while reconnecting are covered by polling; wake readers once anyway.
    setTimeout(() => {
      if (!this.#closed && this.#subscriptions.size > 0)
        void this.#listen().then(() => this.#signal.notify());
    }, 1000).unref();
  }
}

/** How many events the store holds: for progress totals (a rebuild's), not for decisions. */
export const countPostgresEvents = async (pool: pg.Pool): Promise<number> => {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM es_events');
  return Number(rows[0]?.n ?? 0);
};
