import { showDecider, showStreamName } from '../domain/show/decider.js';
import type { ShowScheduled } from '../domain/show/events.js';
import type { EventStore } from '../eventstore/eventStore.js';
import { loadAggregate } from './loadAggregate.js';

export type ShowDetails = ShowScheduled['data'];

/**
 * The schedule of each show (prices, currency, ticket types), read once per process: it never
 * changes after ShowScheduled, so placing an order reads no show stream. Whether sales are
 * open is not taken from here; the inventory decides that.
 */
export class ShowCatalog {
  readonly #shows = new Map<string, ShowDetails>();

  constructor(private readonly store: EventStore) {}

  async get(showId: string): Promise<ShowDetails | undefined> {
    const cached = this.#shows.get(showId);
    if (cached) return cached;
    const { state } = await loadAggregate(this.store, showDecider, showStreamName(showId));
    if (state.status !== 'scheduled') return undefined;
    this.#shows.set(showId, state.show);
    return state.show;
  }
}
