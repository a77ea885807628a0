import { randomUUID } from 'node:crypto';
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
  revisionMatches,
  type StreamRevision,
  type Subscription,
  WrongExpectedVersionError,
} from '../eventStore.js';
import { pollingSubscription } from '../pollingSubscription.js';

/** An in-process event store for unit tests: the same semantics as the others, nothing durable. */
export class MemoryEventStore implements EventStore {
  readonly #streams = new Map<string, RecordedEvent[]>();
  readonly #all: RecordedEvent[] = [];
  readonly #signal = new ChangeSignal();
  readonly #subscriptions = new Set<Subscription>();

  async appendToStream(
    streamName: string,
    events: readonly NewEvent[],
    options: { expectedRevision?: ExpectedRevision } = {},
  ): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    assertAppendable(events, expected);
    const stream = this.#streams.get(streamName) ?? [];
    const actual: StreamRevision = stream.length === 0 ? 'no_stream' : BigInt(stream.length - 1);
    if (!revisionMatches(expected, actual)) throw new WrongExpectedVersionError(streamName, expected, actual);
    const createdAt = new Date();
    for (const event of events) {
      const recorded: RecordedEvent = {
        streamName,
        revision: BigInt(stream.length),
        position: padPositionPart(this.#all.length),
        id: event.id ?? randomUUID(),
        type: event.type,
        // A copy, as a real store would keep: later changes to the caller's object must not leak in.
        data: structuredClone(event.data ?? null),
        metadata: structuredClone(event.metadata ?? {}),
        createdAt,
      };
      stream.push(recorded);
      this.#all.push(recorded);
    }
    this.#streams.set(streamName, stream);
    this.#signal.notify();
    const last = stream[stream.length - 1]!;
    return { nextExpectedRevision: last.revision, position: last.position };
  }

  async readStream(
    streamName: string,
    options: { fromRevision?: bigint; maxCount?: number } = {},
  ): Promise<ReadStreamResult> {
    const stream = this.#streams.get(streamName) ?? [];
    const start = Number(options.fromRevision ?? 0n);
    const end = options.maxCount === undefined ? undefined : start + options.maxCount;
    return {
      revision: stream.length === 0 ? 'no_stream' : BigInt(stream.length - 1),
      events: stream.slice(start, end),
    };
  }

  async readAll(options: { from?: AllFrom; maxCount?: number } = {}): Promise<RecordedEvent[]> {
    const from = options.from ?? 'start';
    const start = from === 'start' ? 0 : Number(from) + 1;
    return this.#all.slice(start, start + (options.maxCount ?? 1000));
  }

  subscribeToAll(options: { from?: AllFrom } = {}): Subscription {
    const subscription = pollingSubscription({
      readPage: (from, maxCount) => this.readAll({ from, maxCount }),
      signal: this.#signal,
      from: options.from ?? 'start',
      pageSize: 500,
      pollIntervalMs: 1000,
      onClose: () => this.#subscriptions.delete(subscription),
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
  }
}
