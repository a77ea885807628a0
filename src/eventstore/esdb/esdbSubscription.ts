import {
  type AllStreamSubscription,
  type EventStoreDBClient,
  excludeSystemEvents,
  START,
} from '@eventstore/db-client';
import type { AllFrom, RecordedEvent, Subscription } from '../eventStore.js';
import { decodePosition } from './esdbPosition.js';
import { toRecorded } from './esdbRecordedEvent.js';

export type EsdbSubscriptionOptions = {
  client: EventStoreDBClient;
  from: AllFrom;
  /** First pause before resubscribing after a drop; doubles up to 5 s. */
  resubscribeDelayMs: number;
  onDropped?: (error: unknown) => void;
  onClose?: () => void;
};

const LONGEST_PAUSE_MS = 5_000;

/**
 * A `$all` subscription that outlives dropped connections: EventStoreDB's subscription starts
 * after its position (as the port's does), and when it drops this one subscribes again from the
 * last event it delivered, pausing longer after each failure in a row.
 */
export const esdbSubscription = (options: EsdbSubscriptionOptions): Subscription => {
  let closed = false;
  let current: AllStreamSubscription | undefined;
  const stop = new AbortController();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      stop.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });

  async function* events(): AsyncGenerator<RecordedEvent> {
    let last = options.from;
    let failures = 0;
    while (!closed) {
      current = options.client.subscribeToAll({
        fromPosition: last === 'start' ? START : decodePosition(last),
        filter: excludeSystemEvents(),
      });
      try {
        for await (const resolved of current) {
          const recorded = toRecorded(resolved);
          // After a resubscription a server may repeat the position it was given: skip it.
          if (!recorded || (last !== 'start' && recorded.position <= last)) continue;
          failures = 0;
          last = recorded.position;
          yield recorded;
        }
      } catch (error) {
        if (closed) break;
        options.onDropped?.(error);
      }
      if (closed) break;
      failures++;
      await pause(Math.min(LONGEST_PAUSE_MS, options.resubscribeDelayMs * 2 ** (failures - 1)));
    }
  }

  const iterator = events();
  return {
    [Symbol.asyncIterator]: () => iterator,
    close: async () => {
      if (closed) return;
      closed = true;
      stop.abort();
      await current?.unsubscribe().catch(() => undefined);
      options.onClose?.();
    },
  };
};
