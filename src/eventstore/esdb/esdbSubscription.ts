import {
  type AllStreamSubscription,
  type EventStoreDBClient,
  excludeSystemEvents,
  START,
} from '@eventstore/db-client';
import { pause } from '../../platform/pause.js';
import type { AllFrom, RecordedEvent, Subscription } from '../eventStore.js';
import { decodePosition } from './esdbPosition.js';
import { isSystemEvent, toRecorded } from './esdbRecordedEvent.js';

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

  async function* events(): AsyncGenerator<RecordedEvent> {
    let last = options.from;
    let failures = 0;
    while (!closed) {
      const subscription = options.client.subscribeToAll({
        fromPosition: last === 'start' ? START : decodePosition(last),
        filter: excludeSystemEvents(),
      });
      current = subscription;
      // Confirmed by the server: the failures before this one are over.
      subscription.once('confirmation', () => {
        failures = 0;
      });
      try {
        for await (const resolved of subscription) {
          const event = resolved.event;
          // The server filters on event type only; a system stream may hold other types.
          if (!event || isSystemEvent(event)) continue;
          const recorded = toRecorded(resolved);
          // After a resubscription a server may repeat the position it was given: skip it.
          if (!recorded || (last !== 'start' && recorded.position <= last)) continue;
          if (closed) return;
          last = recorded.position;
          yield recorded;
        }
      } catch (error) {
        if (closed) return;
        options.onDropped?.(error);
      } finally {
        // Ended by an error or by the consumer: either way the call must not stay open.
        await subscription.unsubscribe().catch(() => undefined);
      }
      if (closed) return;
      failures++;
      await pause(Math.min(LONGEST_PAUSE_MS, options.resubscribeDelayMs * 2 ** (failures - 1)), stop.signal);
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
