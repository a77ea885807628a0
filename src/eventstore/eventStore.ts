/**
 * The event store port, modelled on EventStoreDB so that every adapter means the same thing.
 * Revisions count a stream's events from 0; a position places an event in the one total
 * order of `$all`. Positions are opaque strings of fixed width per adapter, so two
 * positions of one store compare with plain string comparison and go into checkpoints as-is.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type Position = string;

/** What an append expects of the stream: absent, present, anything, or this last revision. */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | bigint;

/** A stream's current state: the revision of its last event, or `no_stream`. */
export type StreamRevision = bigint | 'no_stream';

export type NewEvent = {
  /** A uuid; the store generates one when absent. */
  id?: string;
  type: string;
  data: unknown;
  metadata?: Record<string, unknown>;
};

export type RecordedEvent = {
  streamName: string;
  revision: bigint;
  position: Position;
  id: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  createdAt: Date;
};

export type AppendResult = { nextExpectedRevision: bigint; position: Position };

export type ReadStreamResult = {
  /** The stream's last revision, whatever part of it was read. */
  revision: StreamRevision;
  events: RecordedEvent[];
};

/** Where `$all` reading begins: strictly after this position, or at the very start. */
export type AllFrom = Position | 'start';

export interface Subscription extends AsyncIterable<RecordedEvent> {
  /** Stops the subscription; a consumer waiting for the next event sees the end. */
  close(): Promise<void>;
}

export interface EventStore {
  /**
   * Appends all events or none. Throws WrongExpectedVersionError when the stream is not as
   * expected (default `any`), and RangeError for an empty list.
   */
  appendToStream(
    streamName: string,
    events: readonly NewEvent[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult>;
  /** Events from `fromRevision` (default 0) in order; a missing stream reads as empty. */
  readStream(
    streamName: string,
    options?: { fromRevision?: bigint; maxCount?: number },
  ): Promise<ReadStreamResult>;
  /** Up to `maxCount` events of `$all` after `from`, in the total order. */
  readAll(options?: { from?: AllFrom; maxCount?: number }): Promise<RecordedEvent[]>;
  /** Every event after `from`: catches up, then stays live until closed. */
  subscribeToAll(options?: { from?: AllFrom }): Subscription;
  /** Ends subscriptions and releases what the store holds open. */
  close(): Promise<void>;
}

export class WrongExpectedVersionError extends Error {
  override readonly name = 'WrongExpectedVersionError';
  constructor(
    readonly streamName: string,
    readonly expected: ExpectedRevision,
    readonly actual: StreamRevision,
  ) {
    super(`stream ${streamName} expected ${String(expected)} but is at ${String(actual)}`);
  }
}

/** The store cannot be reached or did not answer in time; the same call may succeed later. */
export class EventStoreUnavailableError extends Error {
  override readonly name = 'EventStoreUnavailableError';
}

/** Whether a stream at `actual` satisfies `expected`. */
export const revisionMatches = (expected: ExpectedRevision, actual: StreamRevision): boolean => {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 'no_stream';
  if (expected === 'stream_exists') return actual !== 'no_stream';
  return actual === expected;
};

export const assertAppendable = (events: readonly NewEvent[], expected: ExpectedRevision): void => {
  if (events.length === 0) throw new RangeError('appendToStream needs at least one event');
  if (typeof expected === 'bigint' && expected < 0n)
    throw new RangeError('an expected revision is never negative');
};

/** A fixed-width decimal, so that positions built from numbers compare as strings. */
export const padPositionPart = (value: bigint | number | string): string => String(value).padStart(20, '0');
