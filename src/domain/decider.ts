/**
 * A decider is an aggregate written as three pure functions (Emmett's shape):
 * `decide` turns a command and the current state into events or a domain error,
 * `evolve` folds one event into the state, `initialState` starts the fold.
 * No I/O and no clock: every time a decision needs arrives on the command.
 */
export type DomainEvent<Type extends string = string, Data = unknown> = {
  readonly type: Type;
  readonly data: Data;
};

/**
 * A refusal: an answer, not a fault. It carries no stack trace; capturing one cost more than the
 * decision itself when a sold-out ticket type refuses thousands of buyers a second.
 */
export class DomainError<Code extends string = string> extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: Code,
    message: string,
  ) {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
  }
}

export type Decision<Event, Code extends string> =
  | { readonly ok: true; readonly events: readonly Event[] }
  | { readonly ok: false; readonly error: DomainError<Code> };

export const accept = <Event>(...events: Event[]): { ok: true; events: Event[] } => ({ ok: true, events });

export const reject = <Code extends string>(
  code: Code,
  message: string,
): { ok: false; error: DomainError<Code> } => ({
  ok: false,
  error: new DomainError(code, message),
});

export type Decider<State, Command, Event, Code extends string> = {
  decide(command: Command, state: State): Decision<Event, Code>;
  /**
   * Returns the state after the event. It may update and return the state it was given
   * (Inventory does, so that a hot stream folds thousands of events without copying);
   * callers must not use a state again after evolving it.
   */
  evolve(state: State, event: Event): State;
  initialState(): State;
  /** Validates an event read back from the store; throws on a malformed one. */
  parseEvent(raw: { type: string; data: unknown }): Event;
};

export const fold = <State, Event>(
  decider: Pick<Decider<State, never, Event, string>, 'evolve' | 'initialState'>,
  events: Iterable<Event>,
): State => {
  let state = decider.initialState();
  for (const event of events) state = decider.evolve(state, event);
  return state;
};

/** Milliseconds since the epoch of an ISO 8601 timestamp carried by an event. */
export const instant = (iso: string): number => Date.parse(iso);

export const addSeconds = (at: Date, seconds: number): string =>
  new Date(at.getTime() + seconds * 1000).toISOString();
