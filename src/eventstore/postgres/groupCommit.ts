import type { ExpectedRevision, NewEvent } from '../eventStore.js';

/** What PostgreSQL answered for one stream's append; undefined means the revision did not match. */
export type AppendedRow = { revision: string; global_position: string; transaction_id: string };

export type PendingAppend = {
  streamName: string;
  events: readonly NewEvent[];
  expected: ExpectedRevision;
  resolve: (row: AppendedRow | undefined) => void;
  reject: (error: unknown) => void;
};

export type GroupCommitOptions = {
  /** Groups being committed at once (default 4); appends wait in the queue meanwhile. */
  maxInFlight?: number;
  /** A group stops taking appends past this many events (default 2,000); one append always fits. */
  maxEvents?: number;
};

/**
 * Merges appends that arrive together into groups, each committed as one transaction in one
 * round trip. A commit costs about the same for one order as for fifty, so under load the queue
 * turns waiting into bigger groups; with little load, an append goes alone at once. A stream has
 * at most one append in flight, so that per stream, appends keep the order they were made in.
 */
export class GroupCommit {
  readonly #commit: (group: PendingAppend[]) => Promise<void>;
  readonly #maxInFlight: number;
  readonly #maxEvents: number;
  #queue: PendingAppend[] = [];
  #inFlight = 0;
  /** Streams with an append in a group being committed: their next append waits for it. */
  readonly #streamsInFlight = new Set<string>();
  #scheduled = false;

  constructor(commit: (group: PendingAppend[]) => Promise<void>, options: GroupCommitOptions = {}) {
    this.#commit = commit;
    this.#maxInFlight = options.maxInFlight ?? 4;
    this.#maxEvents = options.maxEvents ?? 2000;
  }

  append(streamName: string, events: readonly NewEvent[], expected: ExpectedRevision) {
    return new Promise<AppendedRow | undefined>((resolve, reject) => {
      this.#queue.push({ streamName, events, expected, resolve, reject });
      this.#schedule();
    });
  }

  /** Waits for the rest of this turn of the event loop, so appends made in it share a group. */
  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const group = this.#takeGroup();
      if (group.length === 0) return; // every queued stream waits for a group in flight
      this.#inFlight++;
      for (const append of group) this.#streamsInFlight.add(append.streamName);
      this.#commit(group)
        .catch((error: unknown) => {
          for (const append of group) append.reject(error);
        })
        .finally(() => {
          this.#inFlight--;
          for (const append of group) this.#streamsInFlight.delete(append.streamName);
          this.#schedule();
        });
    }
  }

  #takeGroup(): PendingAppend[] {
    const group: PendingAppend[] = [];
    const rest: PendingAppend[] = [];
    // A stream seen once, taken or left, or in a group being committed, takes no later append
    // here: those must wait their turn.
    const seen = new Set<string>(this.#streamsInFlight);
    let events = 0;
    for (const append of this.#queue) {
      const fits = group.length === 0 || events + append.events.length <= this.#maxEvents;
      if (fits && !seen.has(append.streamName)) {
        group.push(append);
        events += append.events.length;
      } else rest.push(append);
      seen.add(append.streamName);
    }
    this.#queue = rest;
    return group;
  }
}
