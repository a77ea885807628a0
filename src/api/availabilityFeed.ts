import type {
  AvailabilityCache,
  AvailabilityChanged,
} from '../projections/availabilityCache/availabilityCache.js';

type Listener = (change: AvailabilityChanged) => void;

/**
 * One subscription to the cache's change channel per API process, fanned out to every stream
 * client by show: ten thousand watchers of a sale cost one Redis subscriber, not ten thousand.
 */
export class AvailabilityFeed {
  readonly #listeners = new Map<string, Set<Listener>>();
  #subscription: Promise<() => Promise<void>> | undefined;

  constructor(private readonly cache: AvailabilityCache) {}

  /** Starts hearing a show's changes; resolves once the channel is subscribed. Returns the unsubscribe. */
  async watch(showId: string, listener: Listener): Promise<() => void> {
    this.#subscription ??= this.cache.subscribe((change) => {
      for (const heard of this.#listeners.get(change.showId) ?? []) heard(change);
    });
    try {
      await this.#subscription;
    } catch (error) {
      this.#subscription = undefined;
      throw error;
    }
    let listeners = this.#listeners.get(showId);
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(showId, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#listeners.delete(showId);
    };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    const unsubscribe = await this.#subscription?.catch(() => undefined);
    this.#subscription = undefined;
    await unsubscribe?.();
  }
}
