import type { Decider } from '../domain/decider.js';
import type { EventStore, StreamRevision } from '../eventstore/eventStore.js';

export type LoadedAggregate<State> = { state: State; revision: StreamRevision };

/** Folds a stream into its decider's state, validating every event as it is read back. */
export const loadAggregate = async <State, Event>(
  store: EventStore,
  decider: Pick<Decider<State, never, Event, string>, 'evolve' | 'initialState' | 'parseEvent'>,
  streamName: string,
): Promise<LoadedAggregate<State>> => {
  const { revision, events } = await store.readStream(streamName);
  let state = decider.initialState();
  for (const recorded of events) state = decider.evolve(state, decider.parseEvent(recorded));
  return { state, revision };
};
