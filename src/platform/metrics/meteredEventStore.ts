import {
  type AllFrom,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadStreamResult,
  type RecordedEvent,
  type Subscription,
  WrongExpectedVersionError,
} from '../../eventstore/eventStore.js';
import { streamCategory } from '../../eventstore/streamName.js';
import type { Metrics } from './metrics.js';

/** An event store that counts what is appended and what conflicts, whichever adapter is inside. */
export class MeteredEventStore implements EventStore {
  constructor(
    private readonly inner: EventStore,
    private readonly metrics: Metrics,
  ) {}

  async appendToStream(
    streamName: string,
    events: readonly NewEvent[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult> {
    try {
      const result = await this.inner.appendToStream(streamName, events, options);
      for (const event of events) {
        this.metrics.eventsAppended.inc({ type: event.type });
        if (event.type === 'SeatsReserved') this.metrics.holds.inc();
      }
      return result;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError)
        this.metrics.appendConflicts.inc({ category: streamCategory(streamName) });
      throw error;
    }
  }

  readStream(
    streamName: string,
    options?: { fromRevision?: bigint; maxCount?: number },
  ): Promise<ReadStreamResult> {
    return this.inner.readStream(streamName, options);
  }

  readAll(options?: { from?: AllFrom; maxCount?: number }): Promise<RecordedEvent[]> {
    return this.inner.readAll(options);
  }

  subscribeToAll(options?: { from?: AllFrom }): Subscription {
    return this.inner.subscribeToAll(options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
