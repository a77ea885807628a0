import { randomUUID } from 'node:crypto';
import {
  ANY,
  type AppendExpectedRevision,
  BACKWARDS,
  END,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  EventStoreDBClient,
  FORWARDS,
  type JSONType,
  jsonEvent,
  NO_STREAM,
  type ResolvedEvent,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
} from '@eventstore/db-client';
import {
  type AllFrom,
  type AppendResult,
  assertAppendable,
  type EventStore,
  EventStoreUnavailableError,
  type ExpectedRevision,
  type NewEvent,
  type ReadStreamResult,
  type RecordedEvent,
  type StreamRevision,
  type Subscription,
  WrongExpectedVersionError,
} from '../eventStore.js';
import { decodePosition, encodePosition } from './esdbPosition.js';
import { isSystemEvent, toRecorded } from './esdbRecordedEvent.js';
import { esdbSubscription } from './esdbSubscription.js';
import { isUnavailable } from './esdbUnavailable.js';

export type EsdbEventStoreOptions = {
  /** e.g. `esdb://localhost:2113?tls=false` */
  connectionString: string;
  /** Hears a dropped subscription before it resubscribes. */
  onBackgroundError?: (error: unknown) => void;
  /** First pause before resubscribing; doubles up to 5 s (default 100 ms). */
  resubscribeDelayMs?: number;
};

const toEsdbExpected = (expected: ExpectedRevision): AppendExpectedRevision => {
  if (expected === 'no_stream') return NO_STREAM;
  if (expected === 'stream_exists') return STREAM_EXISTS;
  if (expected === 'any') return ANY;
  return expected;
};

const fromEsdbRevision = (actual: bigint | string): StreamRevision =>
  typeof actual === 'bigint' ? actual : 'no_stream';

const PAGE = 500;

/**
 * The event store on EventStoreDB through `@eventstore/db-client`. EventStoreDB already means
 * what the port means (it was modelled on it); this adapter turns its types into the port's,
 * leaves system events out of `$all`, and makes reads of `$all` start after `from` as
 * subscriptions do (an EventStoreDB read includes its starting position).
 */
export class EsdbEventStore implements EventStore {
  readonly #client: EventStoreDBClient;
  readonly #subscriptions = new Set<Subscription>();

  constructor(private readonly options: EsdbEventStoreOptions) {
    // Without it a failed batch append answers success: false with a wrong revision, instead of
    // the WrongExpectedVersionError every conflict must be.
    if (/throwOnAppendFailure=false/i.test(options.connectionString))
      throw new Error('EVENTSTORE_URL must not turn throwOnAppendFailure off');
    this.#client = EventStoreDBClient.connectionString(options.connectionString);
  }

  async appendToStream(
    streamName: string,
    events: readonly NewEvent[],
    options: { expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    assertAppendable(events, expected);
    try {
      const result = await this.#client.appendToStream(
        streamName,
        events.map((e) =>
          jsonEvent({
            id: e.id ?? randomUUID(),
            type: e.type,
            data: (e.data ?? null) as JSONType,
            metadata: (e.metadata ?? {}) as JSONType,
          }),
        ),
        { expectedRevision: toEsdbExpected(expected) },
      );
      if (!result.success) throw new Error(`EventStoreDB refused the append to ${streamName}`);
      if (!result.position) throw new Error(`EventStoreDB gave the append to ${streamName} no position`);
      return { nextExpectedRevision: result.nextExpectedRevision, position: encodePosition(result.position) };
    } catch (error) {
      if (error instanceof EsdbWrongExpectedVersionError)
        throw new WrongExpectedVersionError(streamName, expected, fromEsdbRevision(error.actualVersion));
      if (isUnavailable(error))
        throw new EventStoreUnavailableError(`EventStoreDB did not answer the append to ${streamName}`, {
          cause: error,
        });
      throw error;
    }
  }

  async readStream(
    streamName: string,
    options: { fromRevision?: bigint; maxCount?: number } = {},
  ): Promise<ReadStreamResult> {
    const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    let read: ResolvedEvent[];
    try {
      read = await this.readPage(
        this.#client.readStream(streamName, {
          fromRevision: options.fromRevision ?? START,
          maxCount,
          direction: FORWARDS,
        }),
      );
    } catch (error) {
      if (error instanceof StreamNotFoundError) return { revision: 'no_stream', events: [] };
      throw error;
    }
    const events = read.flatMap((resolved) => toRecorded(resolved) ?? []);
    // Read to the end: the last event read is the stream's last. Otherwise ask for the last one.
    const last = events.at(-1);
    if (last && events.length < maxCount) return { revision: last.revision, events };
    return { revision: await this.#lastRevision(streamName), events };
  }

  async #lastRevision(streamName: string): Promise<StreamRevision> {
    const last = await this.readPage(
      this.#client.readStream(streamName, { fromRevision: END, maxCount: 1, direction: BACKWARDS }),
    ).catch((error: unknown) => {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    });
    return last[0]?.event?.revision ?? 'no_stream';
  }

  /**
   * Every event of a read, read to its end: a read left part way is never closed by the client,
   * and `dispose()` would then wait for it forever. A server away is the port's unavailable error.
   */
  private async readPage<T>(read: AsyncIterable<T>): Promise<T[]> {
    const all: T[] = [];
    try {
      for await (const item of read) all.push(item);
    } catch (error) {
      if (isUnavailable(error))
        throw new EventStoreUnavailableError('EventStoreDB did not answer a read', { cause: error });
      throw error;
    }
    return all;
  }

  async readAll(options: { from?: AllFrom; maxCount?: number } = {}): Promise<RecordedEvent[]> {
    const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    if (maxCount <= 0) return [];
    let from = options.from ?? 'start';
    const events: RecordedEvent[] = [];
    // Pages until enough events are found: system events and the starting one are skipped. A
    // page holds at least two, so that one past the (included) starting event always moves on.
    for (;;) {
      const pageSize = Math.max(2, Math.min(PAGE, maxCount - events.length + 1));
      const page = await this.readPage(
        this.#client.readAll({
          fromPosition: from === 'start' ? START : decodePosition(from),
          maxCount: pageSize,
          direction: FORWARDS,
        }),
      );
      for (const resolved of page) {
        const event = resolved.event;
        if (!event?.position) continue;
        if (from !== 'start' && encodePosition(event.position) <= from) continue;
        if (isSystemEvent(event)) continue;
        const recorded = toRecorded(resolved);
        if (recorded) events.push(recorded);
        if (events.length === maxCount) return events;
      }
      const last = page.at(-1)?.event?.position;
      if (page.length < pageSize || !last) return events;
      from = encodePosition(last);
    }
  }

  subscribeToAll(options: { from?: AllFrom } = {}): Subscription {
    const subscription = esdbSubscription({
      client: this.#client,
      from: options.from ?? 'start',
      resubscribeDelayMs: this.options.resubscribeDelayMs ?? 100,
      onDropped: this.options.onBackgroundError,
      onClose: () => this.#subscriptions.delete(subscription),
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    await this.#client.dispose();
  }
}
