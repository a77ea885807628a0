import type { Decider, DomainError } from '../domain/decider.js';
import {
  type EventStore,
  type Position,
  type StreamRevision,
  WrongExpectedVersionError,
} from '../eventstore/eventStore.js';
import { catchUp, loadAggregate } from './loadAggregate.js';

export type CommandResult<State, Event, Code extends string> =
  | {
      ok: true;
      /** What this command added; empty when it changed nothing (an idempotent repeat). */
      events: readonly Event[];
      state: State;
      revision: StreamRevision;
      /** Where the events landed in `$all`; absent when nothing was appended. */
      position?: Position;
    }
  | { ok: false; error: DomainError<Code> };

export type RetryOptions = {
  /** Reloads after a concurrency conflict before giving up (default 25). */
  maxRetries?: number;
  /** Backoff before retry n is random in [0, min(maxDelayMs, baseDelayMs * 2^n)] ("full jitter"). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called on every conflict, for metrics. */
  onConflict?: (streamName: string, attempt: number) => void;
  metadata?: Record<string, unknown>;
};

export class ConcurrencyRetriesExhaustedError extends Error {
  override readonly name = 'ConcurrencyRetriesExhaustedError';
  constructor(
    readonly streamName: string,
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    super(`gave up on ${streamName} after ${attempts} concurrency conflicts`, options);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Load, decide, append with the loaded revision. Another writer appending in between
 * makes the append fail with WrongExpectedVersionError: then, after a jittered pause so that
 * the competitors spread out, fold in what they appended and decide again.
 */
export const handleCommand = async <
  State,
  Command,
  Event extends { type: string; data: unknown },
  Code extends string,
>(
  store: EventStore,
  decider: Decider<State, Command, Event, Code>,
  streamName: string,
  command: Command,
  options: RetryOptions = {},
): Promise<CommandResult<State, Event, Code>> => {
  const maxRetries = options.maxRetries ?? 25;
  const baseDelayMs = options.baseDelayMs ?? 2;
  const maxDelayMs = options.maxDelayMs ?? 100;
  let loaded = await loadAggregate(store, decider, streamName);
  for (let attempt = 0; ; attempt++) {
    const { state, revision } = loaded;
    const decision = decider.decide(command, state);
    if (!decision.ok) return decision;
    if (decision.events.length === 0) return { ok: true, events: [], state, revision };
    try {
      const appended = await store.appendToStream(
        streamName,
        decision.events.map((e) => ({ type: e.type, data: e.data, metadata: options.metadata })),
        { expectedRevision: revision },
      );
      let next = state;
      for (const event of decision.events) next = decider.evolve(next, event);
      return {
        ok: true,
        events: decision.events,
        state: next,
        revision: appended.nextExpectedRevision,
        position: appended.position,
      };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      options.onConflict?.(streamName, attempt + 1);
      if (attempt >= maxRetries)
        throw new ConcurrencyRetriesExhaustedError(streamName, attempt + 1, { cause: error });
      await sleep(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt));
      // decide left the state untouched, so folding in what the others appended is enough.
      loaded = await catchUp(store, decider, streamName, loaded);
    }
  }
};
