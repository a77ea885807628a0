import { EventEmitter } from 'node:events';
import {
  type AvailabilityCache,
  type AvailabilityChanged,
  applyChanges,
  type FiguresChange,
  type TicketTypeFigures,
} from './availabilityCache.js';

/** The availability cache of the embedded default (no Redis): one process, in memory. */
export class MemoryAvailabilityCache implements AvailabilityCache {
  readonly #shows = new Map<string, Map<string, TicketTypeFigures>>();
  readonly #showOf = new Map<string, string>();
  readonly #changes = new EventEmitter();

  async apply(showId: string, ticketTypeId: string, changes: readonly FiguresChange[]): Promise<void> {
    const show = this.#shows.get(showId) ?? new Map<string, TicketTypeFigures>();
    this.#shows.set(showId, show);
    const next = applyChanges(show.get(ticketTypeId), ticketTypeId, changes);
    if (!next) return;
    show.set(ticketTypeId, next);
    this.#changes.emit('change', { ...next, showId } satisfies AvailabilityChanged);
  }

  async showOf(ticketTypeId: string): Promise<string | undefined> {
    return this.#showOf.get(ticketTypeId);
  }

  async rememberShow(ticketTypeId: string, showId: string): Promise<void> {
    this.#showOf.set(ticketTypeId, showId);
  }

  async get(showId: string): Promise<TicketTypeFigures[] | undefined> {
    const show = this.#shows.get(showId);
    return show && show.size > 0 ? [...show.values()] : undefined;
  }

  async subscribe(listener: (change: AvailabilityChanged) => void): Promise<() => Promise<void>> {
    this.#changes.on('change', listener);
    return async () => {
      this.#changes.off('change', listener);
    };
  }

  async clear(): Promise<void> {
    this.#shows.clear();
    this.#showOf.clear();
  }

  async close(): Promise<void> {
    this.#changes.removeAllListeners();
  }
}
