import type { AllStreamResolvedEvent, ResolvedEvent } from '@eventstore/db-client';
import type { RecordedEvent } from '../eventStore.js';
import { encodePosition } from './esdbPosition.js';

const parseOrBytes = (bytes: Uint8Array): unknown => {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return bytes;
  }
};

/** Streams and events EventStoreDB keeps for itself (`$`-prefixed): not part of `$all` as the port means it. */
export const isSystemEvent = (event: { streamId: string; type: string }): boolean =>
  event.type.startsWith('$') || event.streamId.startsWith('$');

/** The port's event from a resolved EventStoreDB one; undefined for an unresolved link. */
export const toRecorded = (resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined => {
  const event = resolved.event;
  if (!event) return undefined;
  if (!event.position) throw new Error(`EventStoreDB gave ${event.streamId}@${event.revision} no position`);
  // Another application may write binary events; they pass as bytes, and whoever reads them decides.
  const data = event.isJson ? event.data : parseOrBytes(event.data as Uint8Array);
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
