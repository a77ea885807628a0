/**
 * TEST CODE ONLY: part of the EventStoreDB test server (see ../esdbTestServer.ts).
 *
 * `Streams/Append` (client streaming: options, then one proposed message per event) and
 * `Streams/BatchAppend` (bidirectional: requests carry a correlation id, options on the first,
 * proposed messages, and `is_final` on the last), answering as EventStoreDB does:
 * - Append: `AppendResp.success`, or `AppendResp.wrong_expected_version` with the current
 *   revision; an oversized append or a message without its "type" / "content-type" ends the
 *   call with the status and `exception` trailers EventStoreDB sends;
 * - BatchAppend: `BatchAppendResp.success`, or `error`: a google.rpc.Status whose details pack
 *   `event_store.client.WrongExpectedVersion`, `MaximumAppendSizeExceeded`, `Timeout` or `BadRequest`.
 */

import type { UUID } from '@eventstore/db-client/generated/shared_pb.js';
import type {
  AppendReq,
  AppendResp,
  BatchAppendReq,
  BatchAppendResp,
} from '@eventstore/db-client/generated/streams_pb.js';
import * as grpc from '@grpc/grpc-js';
import {
  type AppendOutcome,
  type EventLog,
  type Expected,
  MAX_APPEND_SIZE,
  type ProposedEvent,
  sizeOnDisk,
} from './log.js';
import {
  type CallError,
  Code,
  callError,
  emptyPb,
  parseProposed,
  rpcStatus,
  sharedPb,
  streamIdentifier,
  streamNameOf,
  streamsPb,
  uuidToString,
} from './protocol.js';

type ExpectedOptions = {
  hasAny(): boolean;
  hasNoStream(): boolean;
  hasStreamExists(): boolean;
};

const expectedOf = (options: ExpectedOptions, revision: () => string): Expected => {
  if (options.hasAny()) return 'any';
  if (options.hasNoStream()) return 'no_stream';
  if (options.hasStreamExists()) return 'stream_exists';
  return BigInt(revision());
};

const trailers = (entries: Record<string, string>) => {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
};

const maxAppendSizeExceeded = (): CallError =>
  callError(
    grpc.status.INVALID_ARGUMENT,
    `Maximum Append Size of ${MAX_APPEND_SIZE} Exceeded.`,
    trailers({ exception: 'maximum-append-size-exceeded', 'maximum-append-size': String(MAX_APPEND_SIZE) }),
  );

const requiredMetadataMissing = (property: string): CallError =>
  callError(
    grpc.status.INVALID_ARGUMENT,
    `Required Metadata Property '${property}' is missing`,
    trailers({
      exception: 'missing-required-metadata-property',
      'required-metadata-properties': 'type,content-type',
    }),
  );

const appendResp = (outcome: AppendOutcome, expected: Expected): AppendResp => {
  const resp = new streamsPb.AppendResp();
  if (outcome.ok) {
    const success = new streamsPb.AppendResp.Success();
    if (outcome.current === 'no_stream') success.setNoStream(new sharedPb.Empty());
    else success.setCurrentRevision(outcome.current.toString());
    if (outcome.position === undefined) success.setNoPosition(new sharedPb.Empty());
    else
      success.setPosition(
        new streamsPb.AppendResp.Position()
          .setCommitPosition(outcome.position.toString())
          .setPreparePosition(outcome.position.toString()),
      );
    return resp.setSuccess(success);
  }
  const wrong = new streamsPb.AppendResp.WrongExpectedVersion();
  if (outcome.current === 'no_stream') wrong.setCurrentNoStream(new sharedPb.Empty());
  else wrong.setCurrentRevision(outcome.current.toString());
  if (expected === 'any') wrong.setExpectedAny(new sharedPb.Empty());
  else if (expected === 'no_stream') wrong.setExpectedNoStream(new sharedPb.Empty());
  else if (expected === 'stream_exists') wrong.setExpectedStreamExists(new sharedPb.Empty());
  else wrong.setExpectedRevision(expected.toString());
  return resp.setWrongExpectedVersion(wrong);
};

export const createAppendHandler =
  (log: EventLog) =>
  (
    call: grpc.ServerReadableStream<AppendReq, AppendResp>,
    callback: grpc.sendUnaryData<AppendResp>,
  ): void => {
    let options: AppendReq.Options | undefined;
    const events: ProposedEvent[] = [];
    let size = 0;
    // EventStoreDB fails at the offending message; this answers once the client has sent all,
    // so a client still writing never meets a closed call. The client sees the same error.
    let failure: CallError | undefined;
    call.on('data', (req: AppendReq) => {
      if (failure) return;
      if (!options) {
        options = req.getOptions();
        if (!options) failure = callError(grpc.status.INVALID_ARGUMENT, 'an append starts with its options');
        return;
      }
      const message = req.getProposedMessage();
      if (!message) {
        failure = callError(grpc.status.INVALID_ARGUMENT, 'an append sends options once, then events');
        return;
      }
      const event = parseProposed(message);
      if ('missing' in event) {
        failure = requiredMetadataMissing(event.missing);
        return;
      }
      size += sizeOnDisk(event);
      if (size > MAX_APPEND_SIZE) {
        failure = maxAppendSizeExceeded();
        return;
      }
      events.push(event);
    });
    call.on('end', () => {
      if (failure || !options) {
        callback(failure ?? callError(grpc.status.INVALID_ARGUMENT, 'an append starts with its options'));
        return;
      }
      const current = options;
      const expected = expectedOf(current, () => current.getRevision());
      const outcome = log.append(streamNameOf(current.getStreamIdentifier()), expected, events);
      callback(null, appendResp(outcome, expected));
    });
  };

// --- BatchAppend ---

type PendingBatch = { streamName: string; expected: Expected; events: ProposedEvent[]; size: number };

const wrongExpectedVersionStatus = (current: AppendOutcome['current'], expected: Expected) => {
  const detail = new sharedPb.WrongExpectedVersion();
  if (current === 'no_stream') detail.setCurrentNoStream(new emptyPb.Empty());
  else detail.setCurrentStreamRevision(current.toString());
  if (expected === 'any') detail.setExpectedAny(new emptyPb.Empty());
  else if (expected === 'no_stream') detail.setExpectedNoStream(new emptyPb.Empty());
  else if (expected === 'stream_exists') detail.setExpectedStreamExists(new emptyPb.Empty());
  else detail.setExpectedStreamPosition(expected.toString());
  return rpcStatus(Code.ALREADY_EXISTS, 'WrongExpectedVersion', detail, 'WrongExpectedVersion');
};

const batchSuccess = (outcome: Extract<AppendOutcome, { ok: true }>) => {
  const success = new streamsPb.BatchAppendResp.Success();
  if (outcome.current === 'no_stream') success.setNoStream(new emptyPb.Empty());
  else success.setCurrentRevision(outcome.current.toString());
  if (outcome.position === undefined) success.setNoPosition(new emptyPb.Empty());
  else
    success.setPosition(
      new sharedPb.AllStreamPosition()
        .setCommitPosition(outcome.position.toString())
        .setPreparePosition(outcome.position.toString()),
    );
  return success;
};

export const createBatchAppendHandler =
  (log: EventLog) =>
  (call: grpc.ServerDuplexStream<BatchAppendReq, BatchAppendResp>): void => {
    const pending = new Map<string, PendingBatch>();
    const reply = (
      correlationId: UUID | undefined,
      streamName: string,
      fill: (resp: BatchAppendResp) => void,
    ) => {
      if (call.cancelled || call.writableEnded) return;
      const resp = new streamsPb.BatchAppendResp().setStreamIdentifier(streamIdentifier(streamName));
      if (correlationId) resp.setCorrelationId(correlationId);
      fill(resp);
      call.write(resp);
    };
    const badRequest = (correlationId: UUID | undefined, streamName: string, message: string) =>
      reply(correlationId, streamName, (resp) =>
        resp.setError(
          rpcStatus(
            Code.INVALID_ARGUMENT,
            'BadRequest',
            new sharedPb.BadRequest().setMessage(message),
            'BadRequest',
          ),
        ),
      );

    call.on('data', (req: BatchAppendReq) => {
      const correlationId = req.getCorrelationId();
      const key = uuidToString(correlationId);
      const options = req.getOptions();
      if (options) {
        const streamName = streamNameOf(options.getStreamIdentifier());
        if (!options.hasStreamIdentifier()) {
          badRequest(correlationId, streamName, 'Required field StreamIdentifier not set.');
          return;
        }
        const deadline = options.getDeadline();
        if (deadline && deadline.toDate().getTime() <= Date.now()) {
          reply(correlationId, streamName, (resp) =>
            resp.setError(rpcStatus(Code.DEADLINE_EXCEEDED, 'Timeout', new sharedPb.Timeout(), 'Timeout')),
          );
          return;
        }
        if (!pending.has(key)) {
          const expected = expectedOf(options, () => options.getStreamPosition());
          pending.set(key, { streamName, expected, events: [], size: 0 });
        }
      }
      const batch = pending.get(key);
      if (!batch) return;
      for (const message of req.getProposedMessagesList()) {
        const event = parseProposed(message);
        if ('missing' in event) {
          pending.delete(key);
          badRequest(correlationId, batch.streamName, `The given key '${event.missing}' was not present.`);
          return;
        }
        batch.size += sizeOnDisk(event);
        batch.events.push(event);
      }
      if (batch.size > MAX_APPEND_SIZE) {
        pending.delete(key);
        const detail = new sharedPb.MaximumAppendSizeExceeded().setMaxappendsize(MAX_APPEND_SIZE);
        reply(correlationId, batch.streamName, (resp) =>
          resp.setError(
            rpcStatus(
              Code.INVALID_ARGUMENT,
              'MaximumAppendSizeExceeded',
              detail,
              'MaximumAppendSizeExceeded',
            ),
          ),
        );
        return;
      }
      if (!req.getIsFinal() || !pending.delete(key)) return;
      const outcome = log.append(batch.streamName, batch.expected, batch.events);
      reply(correlationId, batch.streamName, (resp) => {
        if (outcome.ok) resp.setSuccess(batchSuccess(outcome));
        else resp.setError(wrongExpectedVersionStatus(outcome.current, batch.expected));
      });
    });
    call.on('end', () => call.end());
    call.on('cancelled', () => pending.clear());
  };
