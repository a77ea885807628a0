import type { Decider, DomainError } from '../domain/decider.js';
import {
  type EventStore,
  type Position,
  type StreamRevision,
  WrongExpectedVersionError,
} from '../eventstore/eventStore.js';
import { catchUp, loadAggregate } from './loadAggregate.js';

export type WriterResult<Event, Code extends string, Answer> =
  | { ok: true; events: readonly Event[]; revision: StreamRevision; position?: Position; answer: Answer }
  | { ok: false; error: DomainError<Code> };

export type HotStreamWriterOptions<State, Command, Answer> = {
  /**
   * A working copy of the cached state to decide a batch on, with what keeps its changes (the
   * append succeeded) or takes them back (it did not), leaving the cache as it was.
   */
  draftState: (state: State) => { state: State; keep: () => void; discard: () => void };
  /** What each caller learns besides its events, read from the state right after its command. */
  answer: (state: State, command: Command) => Answer;
  /** Commands waiting at most; one more is refused with WriterOverloadedError (default 10,000). */
  maxQueue?: number;
  /**
   * Which commands the queue bound refuses when full (default: all). Others are always queued,
   * so that a stampede of new requests cannot starve the commands that finish purchases.
   */
  sheddable?: (command: Command) => boolean;
  /** Commands decided into one append at most (default 1,000). */
  maxBatch?: number;
  /** Conflicts with other processes tolerated for one batch (default 50). */
  maxConflicts?: number;
  onBatch?: (commands: number, events: number) => void;
  onConflict?: () => void;
};

export class WriterOverloadedError extends Error {
  override readonly name = 'WriterOverloadedError';
  constructor(readonly streamName: string) {
    super(`too many commands are waiting for ${streamName}`);
  }
}

export class WriterClosedError extends Error {
  override readonly name = 'WriterClosedError';
  constructor(readonly streamName: string) {
    super(`the writer for ${streamName} is closed`);
  }
}

type Pending<Command, Event, Code extends string, Answer> = {
  /** Absent for a read: it decides nothing and only answers from fresh state. */
  command: Command | undefined;
  select?: (state: never) => unknown;
  resolve: (result: WriterResult<Event, Code, Answer>) => void;
  reject: (error: unknown) => void;
};

type Decided<Event, Code extends string, Answer> =
  | { ok: true; events: readonly Event[]; answer: Answer }
  | { ok: false; error: DomainError<Code> };

/**
 * One writer per hot stream per process. Commands queue in memory; the writer takes all that
 * are waiting, decides each in turn against its cached state, appends every resulting event in
 * one append at the cached revision, then answers every caller. Throughput becomes batch size
 * divided by append latency, instead of collapsing under optimistic conflicts.
 *
 * The cached state is kept between batches, so no command replays the stream. When another
 * process appended first, the append conflicts: the writer catches up from its cached revision
 * and decides the batch again. A batch that would answer without appending (a rejection, a
 * repeat, a read) catches up first, so that no caller is refused on a stale view.
 */
export class HotStreamWriter<
  State,
  Command,
  Event extends { type: string; data: unknown },
  Code extends string,
  Answer,
> {
  readonly #queue: Pending<Command, Event, Code, Answer>[] = [];
  #cache: { state: State; revision: StreamRevision } | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  readonly #maxConflicts: number;

  constructor(
    private readonly store: EventStore,
    private readonly decider: Decider<State, Command, Event, Code>,
    readonly streamName: string,
    private readonly options: HotStreamWriterOptions<State, Command, Answer>,
  ) {
    this.#maxQueue = options.maxQueue ?? 10_000;
    this.#maxBatch = options.maxBatch ?? 1_000;
    this.#maxConflicts = options.maxConflicts ?? 50;
  }

  get queued(): number {
    return this.#queue.length;
  }

  submit(command: Command): Promise<WriterResult<Event, Code, Answer>> {
    return this.#enqueue(command);
  }

  /** Reads from the stream's latest state (caught up first), deciding nothing. */
  async read<T>(select: (state: State) => T): Promise<T> {
    const result = await this.#enqueue(undefined, select);
    if (!result.ok) throw result.error;
    return result.answer as unknown as T;
  }

  /** Refuses new commands and resolves once the waiting ones are answered. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#running;
  }

  #enqueue(
    command: Command | undefined,
    select?: (state: State) => unknown,
  ): Promise<WriterResult<Event, Code, Answer>> {
    if (this.#closed) return Promise.reject(new WriterClosedError(this.streamName));
    const sheddable = command !== undefined && (this.options.sheddable?.(command) ?? true);
    if (sheddable && this.#queue.length >= this.#maxQueue)
      return Promise.reject(new WriterOverloadedError(this.streamName));
    return new Promise((resolve, reject) => {
      this.#queue.push({
        command,
        select: select as ((state: never) => unknown) | undefined,
        resolve,
        reject,
      });
      this.#running ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          await this.#process(batch);
        } catch (error) {
          // The outcome of a failed append is unknown (it may have committed): forget the cache
          // so that the next batch starts from the stream itself.
          this.#cache = undefined;
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      // In the same turn as the empty-queue check: a command queued from now on starts a new drain.
      this.#running = undefined;
    }
  }

  async #process(batch: Pending<Command, Event, Code, Answer>[]): Promise<void> {
    this.#cache ??= await loadAggregate(this.store, this.decider, this.streamName);
    let conflicts = 0;
    let caughtUp = false;
    for (;;) {
      const cache = this.#cache;
      const draft = this.options.draftState(cache.state);
      let decision: ReturnType<typeof this.decideBatch>;
      try {
        decision = this.decideBatch(batch, draft.state);
      } catch (error) {
        draft.discard();
        throw error;
      }
      const { decided, events, needsFreshState } = decision;
      // Answers that append nothing are checked against the stream once, not chased forever.
      if (needsFreshState && !caughtUp) {
        // Catching up evolves the cached state, which the draft shares: take the draft back first.
        draft.discard();
        caughtUp = true;
        await this.#catchUp();
        continue;
      }
      if (events.length === 0) {
        draft.discard();
        this.#reportBatch(batch.length, 0);
        for (const [i, pending] of batch.entries())
          pending.resolve(this.#result(decided[i]!, cache.revision));
        return;
      }
      let appended: Awaited<ReturnType<EventStore['appendToStream']>>;
      try {
        appended = await this.store.appendToStream(
          this.streamName,
          events.map((e) => ({ type: e.type, data: e.data })),
          { expectedRevision: cache.revision },
        );
      } catch (error) {
        // Whatever went wrong, the cache must read as the stream did before this batch.
        draft.discard();
        if (!(error instanceof WrongExpectedVersionError) || ++conflicts > this.#maxConflicts) throw error;
        this.options.onConflict?.();
        await this.#catchUp();
        caughtUp = true;
        continue;
      }
      draft.keep();
      this.#cache = { state: draft.state, revision: appended.nextExpectedRevision };
      this.#reportBatch(batch.length, events.length);
      for (const [i, pending] of batch.entries())
        pending.resolve(this.#result(decided[i]!, appended.nextExpectedRevision, appended.position));
      return;
    }
  }

  private decideBatch(batch: Pending<Command, Event, Code, Answer>[], working: State) {
    const decided: Decided<Event, Code, Answer>[] = [];
    const events: Event[] = [];
    let needsFreshState = false;
    let state = working;
    for (const { command, select } of batch) {
      if (command === undefined) {
        needsFreshState = true;
        decided.push({ ok: true, events: [], answer: (select as (state: State) => Answer)(state) });
        continue;
      }
      const decision = this.decider.decide(command, state);
      if (!decision.ok) {
        needsFreshState = true;
        decided.push(decision);
        continue;
      }
      if (decision.events.length === 0) needsFreshState = true;
      for (const event of decision.events) state = this.decider.evolve(state, event);
      events.push(...decision.events);
      decided.push({ ok: true, events: decision.events, answer: this.options.answer(state, command) });
    }
    return { decided, events, needsFreshState };
  }

  #reportBatch(commands: number, events: number): void {
    try {
      this.options.onBatch?.(commands, events);
    } catch {
      // Metrics must not fail callers whose events are already stored.
    }
  }

  #result(
    decided: Decided<Event, Code, Answer>,
    revision: StreamRevision,
    position?: Position,
  ): WriterResult<Event, Code, Answer> {
    if (!decided.ok) return decided;
    return decided.events.length > 0
      ? { ok: true, events: decided.events, answer: decided.answer, revision, position }
      : { ok: true, events: decided.events, answer: decided.answer, revision };
  }

  /** Folds what other processes appended since the cached revision; true when there was any. */
  async #catchUp(): Promise<boolean> {
    const before = this.#cache!.revision;
    this.#cache = await catchUp(this.store, this.decider, this.streamName, this.#cache!);
    return this.#cache.revision !== before;
  }
}
