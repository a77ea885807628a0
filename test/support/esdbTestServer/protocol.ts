/**
 * TEST CODE ONLY: part of the EventStoreDB test server (see ../esdbTestServer.ts).
 *
 * The generated gRPC service definitions and protobuf classes that ship in
 * `@eventstore/db-client`, and the conversions between them and the log's records. The
 * generated modules are CommonJS whose exports the ESM loader cannot list, so they are taken
 * as default imports (the whole `module.exports`).
 */
import { randomUUID } from 'node:crypto';
import codePb from '@eventstore/db-client/generated/code_pb.js';
import serverFeaturesGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import serverFeaturesPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import type { UUID } from '@eventstore/db-client/generated/shared_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import type { Status } from '@eventstore/db-client/generated/status_pb.js';
import statusPb from '@eventstore/db-client/generated/status_pb.js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import type { ReadResp } from '@eventstore/db-client/generated/streams_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type * as grpc from '@grpc/grpc-js';
import type { Message } from 'google-protobuf';
// google-protobuf comes with the client (the generated classes are built on it).
import anyPb from 'google-protobuf/google/protobuf/any_pb.js';
import emptyPb from 'google-protobuf/google/protobuf/empty_pb.js';
import type { ProposedEvent, StoredEvent } from './log.js';

export { codePb, emptyPb, serverFeaturesGrpc, serverFeaturesPb, sharedPb, streamsGrpc, streamsPb };

export const Code = codePb.Code;

/** An error for grpc-js to end a call with: a status code, details and trailing metadata. */
export type CallError = Partial<grpc.StatusObject>;

export const callError = (code: grpc.status, details: string, metadata?: grpc.Metadata): CallError => ({
  code,
  details,
  ...(metadata ? { metadata } : {}),
});

// --- uuids ---

const hex64 = (value: string) => BigInt.asUintN(64, BigInt(value)).toString(16).padStart(16, '0');

/** A uuid in either of its wire forms, as the usual dashed string. */
export const uuidToString = (uuid: UUID | undefined): string => {
  if (!uuid) return '';
  const structured = uuid.getStructured();
  if (!structured) return uuid.getString();
  const h = hex64(structured.getMostSignificantBits()) + hex64(structured.getLeastSignificantBits());
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** A uuid in the form the reader asked for (`uuid_option`): string or two signed 64-bit halves. */
export const uuidMessage = (id: string, structured: boolean): UUID => {
  const uuid = new sharedPb.UUID();
  if (!structured) return uuid.setString(id);
  const h = id.replaceAll('-', '');
  const half = (part: string) => BigInt.asIntN(64, BigInt(`0x${part}`)).toString();
  return uuid.setStructured(
    new sharedPb.UUID.Structured()
      .setMostSignificantBits(half(h.slice(0, 16)))
      .setLeastSignificantBits(half(h.slice(16))),
  );
};

export const newSubscriptionId = (): string => randomUUID();

// --- stream identifiers ---

export const streamIdentifier = (name: string) =>
  new sharedPb.StreamIdentifier().setStreamName(Uint8Array.from(Buffer.from(name, 'utf8')));

export const streamNameOf = (identifier: { getStreamName_asU8(): Uint8Array } | undefined): string =>
  identifier ? Buffer.from(identifier.getStreamName_asU8()).toString('utf8') : '';

// --- proposed and recorded events ---

type ProposedMessage = {
  getId(): UUID | undefined;
  getMetadataMap(): { get(key: string): string | undefined };
  getData_asU8(): Uint8Array;
  getCustomMetadata_asU8(): Uint8Array;
};

/** A proposed message as an event, or the required metadata key it lacks ("type", "content-type"). */
export const parseProposed = (message: ProposedMessage): ProposedEvent | { missing: string } => {
  const metadata = message.getMetadataMap();
  const type = metadata.get('type');
  if (type === undefined) return { missing: 'type' };
  const contentType = metadata.get('content-type');
  if (contentType === undefined) return { missing: 'content-type' };
  return {
    id: uuidToString(message.getId()),
    type,
    // EventStoreDB keeps only "is JSON", and answers application/json or application/octet-stream.
    isJson: contentType === 'application/json',
    data: message.getData_asU8(),
    metadata: message.getCustomMetadata_asU8(),
  };
};

const recordedEvent = (event: StoredEvent, structuredIds: boolean) => {
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent()
    .setId(uuidMessage(event.id, structuredIds))
    .setStreamIdentifier(streamIdentifier(event.streamName))
    .setStreamRevision(event.revision.toString())
    .setCommitPosition(event.position.toString())
    .setPreparePosition(event.position.toString())
    .setData(event.data)
    .setCustomMetadata(event.metadata);
  recorded
    .getMetadataMap()
    .set('type', event.type)
    .set('content-type', event.isJson ? 'application/json' : 'application/octet-stream')
    .set('created', event.created.toString());
  return recorded;
};

export const eventResp = (event: StoredEvent, structuredIds: boolean): ReadResp =>
  new streamsPb.ReadResp().setEvent(
    new streamsPb.ReadResp.ReadEvent()
      .setEvent(recordedEvent(event, structuredIds))
      .setCommitPosition(event.position.toString()),
  );

export const confirmationResp = (subscriptionId: string): ReadResp =>
  new streamsPb.ReadResp().setConfirmation(
    new streamsPb.ReadResp.SubscriptionConfirmation().setSubscriptionId(subscriptionId),
  );

export const caughtUpResp = (): ReadResp =>
  new streamsPb.ReadResp().setCaughtUp(new streamsPb.ReadResp.CaughtUp());

export const checkpointResp = (position: bigint): ReadResp =>
  new streamsPb.ReadResp().setCheckpoint(
    new streamsPb.ReadResp.Checkpoint()
      .setCommitPosition(position.toString())
      .setPreparePosition(position.toString()),
  );

export const streamNotFoundResp = (name: string): ReadResp =>
  new streamsPb.ReadResp().setStreamNotFound(
    new streamsPb.ReadResp.StreamNotFound().setStreamIdentifier(streamIdentifier(name)),
  );

// --- google.rpc.Status, as BatchAppend reports a failure ---

/** A google.rpc.Status whose details pack `detail` as `event_store.client.<typeName>`, as EventStoreDB builds them. */
export const rpcStatus = (code: number, message: string, detail: Message, typeName: string): Status => {
  const details = new anyPb.Any();
  details.pack(detail.serializeBinary(), `event_store.client.${typeName}`);
  return new statusPb.Status().setCode(code).setMessage(message).setDetails(details);
};
