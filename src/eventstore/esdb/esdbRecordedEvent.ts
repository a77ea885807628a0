import type { AllStreamResolvedEvent, ResolvedEvent } from '@eventstore/db-client';
import type { RecordedEvent } from '../eventStore.js';
import { encodePosition } from './esdbPosition.js';

/** The port's event from a resolved EventStoreDB one; undefined for an unresolved link. */
export const toRecorded = (resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined => {
  const event = resolved.event;
  if (!event) return undefined;
  if (!event.position) throw new Error(`EventStoreDB gave ${event.streamId}@${event.revision} no position`);
  const data = event.isJson ? event.data : JSON.parse(Buffer.from(event.data as Uint8Array).toString('utf8'));
  const metadata =
    event.metadata && !(event.metadata instanceof Uint8Array)
      ? (event.metadata as Record<string, unknown>)
      : {};
  return {
    streamName: event.streamId,
    revision: event.revision,
    position: encodePosition(event.position),
    id: event.id,
    type: event.type,
    data,
    metadata,
    createdAt: event.created,
  };
};
