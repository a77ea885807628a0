/**
 * TEST CODE ONLY: part of the EventStoreDB test server (see ../esdbTestServer.ts).
 *
 * The in-memory log: every event once, in `$all` order, and per stream by revision. It decides
 * appends the way EventStoreDB does (expected revision, idempotent retries) and places each
 * event at a log position, as EventStoreDB's transaction file does.
 */
import { randomUUID } from 'node:crypto';

/** EventStoreDB's default `MaxAppendSize`. */
export const MAX_APPEND_SIZE = 1_048_576;

export type ProposedEvent = {
  id: string;
  type: string;
  isJson: boolean;
  data: Uint8Array;
  metadata: Uint8Array;
};

export type StoredEvent = ProposedEvent & {
  streamName: string;
  revision: bigint;
  /** Its byte offset in the log: commit and prepare position both, as for any event appended over gRPC. */
  position: bigint;
  /** .NET ticks (100 ns) since the Unix epoch, as EventStoreDB's "created". */
  created: bigint;
};

export type Expected = 'any' | 'no_stream' | 'stream_exists' | bigint;
export type Current = bigint | 'no_stream';

export type AppendOutcome =
  | { ok: true; current: Current; position: bigint | undefined }
  | { ok: false; current: Current };

/** What an event counts against the append limit: EventStoreDB's `Event.SizeOnDisk`. */
export const sizeOnDisk = (event: ProposedEvent): number =>
  event.data.length + event.metadata.length + event.type.length * 2;

// A record's header on disk; only makes positions look like byte offsets, with gaps between events.
const RECORD_OVERHEAD = 88;

const satisfies = (expected: Expected, current: Current): boolean => {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return current === 'no_stream';
  if (expected === 'stream_exists') return current !== 'no_stream';
  return current === expected;
};

export class EventLog {
  /** `$all`, in order. */
  readonly all: StoredEvent[] = [];
  readonly #streams = new Map<string, StoredEvent[]>();
  #nextPosition = 0n;
  #wake: { promise: Promise<void>; resolve: () => void } = EventLog.#signal();

  static #signal() {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    return { promise, resolve };
  }

  stream(name: string): readonly StoredEvent[] | undefined {
    return this.#streams.get(name);
  }

  current(name: string): Current {
    const events = this.#streams.get(name);
    return events?.length ? BigInt(events.length - 1) : 'no_stream';
  }

  /** Settles at the next append; take it in the same turn as checking for events, so none is missed. */
  nextAppend(): Promise<void> {
    return this.#wake.promise;
  }

  /** All or nothing, synchronously: appends to one stream cannot interleave. */
  append(streamName: string, expected: Expected, events: readonly ProposedEvent[]): AppendOutcome {
    const current = this.current(streamName);
    const retried = this.#idempotentRetry(streamName, expected, events);
    if (retried) return retried;
    if (!satisfies(expected, current)) return { ok: false, current };
    // Nothing to write: the check alone answers, with no position (EventStoreDB's NoPosition).
    if (events.length === 0) return { ok: true, current, position: undefined };

    let stream = this.#streams.get(streamName);
    if (!stream) {
      stream = [];
      this.#streams.set(streamName, stream);
    }
    const created = BigInt(Date.now()) * 10_000n;
    let last: StoredEvent | undefined;
    for (const event of events) {
      last = {
        ...event,
        streamName,
        revision: BigInt(stream.length),
        position: this.#nextPosition,
        created,
      };
      this.#nextPosition += BigInt(RECORD_OVERHEAD + Buffer.byteLength(streamName) + sizeOnDisk(event));
      stream.push(last);
      this.all.push(last);
    }
    const wake = this.#wake;
    this.#wake = EventLog.#signal();
    wake.resolve();
    return { ok: true, current: last!.revision, position: last!.position };
  }

  /**
   * EventStoreDB's idempotence: events already written with the same ids where this append
   * would put them (or, for any / stream_exists, anywhere in the stream) are not written again;
   * the append succeeds with their last revision. A partial match is a conflict.
   */
  #idempotentRetry(
    streamName: string,
    expected: Expected,
    events: readonly ProposedEvent[],
  ): AppendOutcome | undefined {
    const stream = this.#streams.get(streamName);
    const first = events[0];
    if (!stream || !first) return undefined;
    const at =
      expected === 'any' || expected === 'stream_exists'
        ? stream.findIndex((e) => e.id === first.id)
        : expected === 'no_stream'
          ? 0
          : Number(expected) + 1;
    if (at < 0 || stream[at]?.id !== first.id) return undefined;
    if (!events.every((e, i) => stream[at + i]?.id === e.id))
      return { ok: false, current: this.current(streamName) };
    const last = stream[at + events.length - 1]!;
    return { ok: true, current: last.revision, position: last.position };
  }
}

const json = (value: unknown) => Uint8Array.from(Buffer.from(JSON.stringify(value), 'utf8'));

/** What a fresh EventStoreDB already holds: `$`-prefixed system streams and event types. */
export const seedSystemEvents = (log: EventLog): void => {
  const system = (streamName: string, type: string, data: unknown) =>
    log.append(streamName, 'any', [
      { id: randomUUID(), type, isJson: true, data: json(data), metadata: new Uint8Array() },
    ]);
  system('$settings', '$settings', {
    $userStreamAcl: { $r: '$all', $w: '$all', $d: '$all', $mr: '$all', $mw: '$all' },
    $systemStreamAcl: { $r: '$admins', $w: '$admins', $d: '$admins', $mr: '$admins', $mw: '$admins' },
  });
  system('$projections-$all', '$ProjectionsInitialized', {});
  system('$stats-127.0.0.1:2113', '$statsCollected', { 'proc-startTime': new Date().toISOString() });
};
