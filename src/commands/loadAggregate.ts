import type { Decider } from '../domain/decider.js';
import type { EventStore, StreamRevision } from '../eventstore/eventStore.js';

export type LoadedAggregate<State> = { state: State; revision: StreamRevision };

type Folding<State, Event> = Pick<
  Decider<State, never, Event, string>,
  'evolve' | 'initialState' | 'parseEvent'
>;

/** Folds a stream into its decider's state, validating every event as it is read back. */
export const loadAggregate = <State, Event>(
  store: EventStore,
  decider: Folding<State, Event>,
  streamName: string,
): Promise<LoadedAggregate<State>> =>
  catchUp(store, decider, streamName, { state: decider.initialState(), revision: 'no_stream' });

/**
 * Folds what was appended after `loaded.revision` into `loaded.state` (which evolve may
 * update in place) and returns the state with its new revision.
 */
export const catchUp = async <State, Event>(
  store: EventStore,
  decider: Folding<State, Event>,
  streamName: string,
  loaded: LoadedAggregate<State>,
): Promise<LoadedAggregate<State>> => {
  const fromRevision = loaded.revision === 'no_stream' ? 0n : loaded.revision + 1n;
  const { events } = await store.readStream(streamName, { fromRevision });
  let state = loaded.state;
  for (const recorded of events) state = decider.evolve(state, decider.parseEvent(recorded));
  return { state, revision: events.at(-1)?.revision ?? loaded.revision };
};
