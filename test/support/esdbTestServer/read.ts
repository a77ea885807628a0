/**
 * TEST CODE ONLY: part of the EventStoreDB test server (see ../esdbTestServer.ts).
 *
 * `Streams/Read`: reads of a stream or of `$all` in either direction, and catch-up
 * subscriptions to either, with EventStoreDB's semantics:
 * - a stream read that finds no stream answers `stream_not_found`;
 * - a forwards `$all` read includes the event at its position; a backwards one starts before it;
 * - a subscription starts strictly after its revision or position: confirmation, the
 *   historical events, `caught_up`, then live events until the client cancels;
 * - a filtered `$all` subscription sends a checkpoint every `checkpointIntervalMultiplier x
 *   max search window` events it has looked at, at the last of them.
 */

import type { ReadReq, ReadResp } from '@eventstore/db-client/generated/streams_pb.js';
import * as grpc from '@grpc/grpc-js';
import type { EventLog, StoredEvent } from './log.js';
import {
  callError,
  caughtUpResp,
  checkpointResp,
  confirmationResp,
  eventResp,
  newSubscriptionId,
  streamNameOf,
  streamNotFoundResp,
} from './protocol.js';

type ReadCall = grpc.ServerWritableStream<ReadReq, ReadResp>;
type Options = NonNullable<ReturnType<ReadReq['getOptions']>>;

/** A running subscription, which the test server can end as a dropped connection would. */
export type LiveSubscription = { drop(): void };

type AllPosition = { commit: bigint; prepare: bigint };
type Target =
  | { kind: 'stream'; name: string; from: 'start' | 'end' | bigint }
  | { kind: 'all'; from: 'start' | 'end' | AllPosition };

type EventFilter = { matches(event: StoredEvent): boolean; checkpointInterval: number };

// The search window when the filter names none: EventStoreDB's read batch size (32; later servers use 320).
const DEFAULT_MAX_SEARCH_WINDOW = 32;

const targetOf = (options: Options): Target | undefined => {
  const stream = options.getStream();
  if (stream) {
    const name = streamNameOf(stream.getStreamIdentifier());
    const from = stream.hasStart() ? 'start' : stream.hasEnd() ? 'end' : BigInt(stream.getRevision());
    return { kind: 'stream', name, from };
  }
  const all = options.getAll();
  if (!all) return undefined;
  const position = all.getPosition();
  if (all.hasStart() || !position) return { kind: 'all', from: all.hasEnd() ? 'end' : 'start' };
  return {
    kind: 'all',
    from: { commit: BigInt(position.getCommitPosition()), prepare: BigInt(position.getPreparePosition()) },
  };
};

/** Regex first, else prefixes, on the stream name or the event type; throws on a bad regex. */
const filterOf = (options: Options): EventFilter | undefined => {
  const filter = options.getFilter();
  if (!filter) return undefined;
  const onStream = filter.hasStreamIdentifier();
  const expression = onStream ? filter.getStreamIdentifier() : filter.getEventType();
  const regex = expression?.getRegex() ?? '';
  const prefixes = expression?.getPrefixList() ?? [];
  const pattern = regex ? new RegExp(regex) : undefined;
  const test = (value: string) =>
    pattern ? pattern.test(value) : prefixes.some((prefix) => value.startsWith(prefix));
  const window = filter.hasMax() ? filter.getMax() : DEFAULT_MAX_SEARCH_WINDOW;
  return {
    matches: (event) => test(onStream ? event.streamName : event.type),
    checkpointInterval: Math.max(1, filter.getCheckpointintervalmultiplier() * window),
  };
};

/** Orders an event, placed at (position, position), against a requested (commit, prepare). */
const compare = (event: StoredEvent, { commit, prepare }: AllPosition): number => {
  const other = event.position !== commit ? commit : prepare;
  return event.position === other ? 0 : event.position < other ? -1 : 1;
};

/** The index of the first event of `$all` at or after (inclusive) / strictly after (exclusive) a position. */
const indexFrom = (all: readonly StoredEvent[], position: AllPosition, inclusive: boolean): number => {
  let low = 0;
  let high = all.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const order = compare(all[middle]!, position);
    if (order < 0 || (order === 0 && !inclusive)) low = middle + 1;
    else high = middle;
  }
  return low;
};

/** Writes with back-pressure; resolves at once when the call is over. */
const writer = (call: ReadCall, stopped: Promise<void>) => async (resp: ReadResp) => {
  if (call.cancelled || call.writableEnded) return;
  if (!call.write(resp)) await Promise.race([new Promise((resolve) => call.once('drain', resolve)), stopped]);
};

const readStream = (
  log: EventLog,
  target: Extract<Target, { kind: 'stream' }>,
  backwards: boolean,
  count: number,
) => {
  const stream = log.stream(target.name);
  if (!stream) return undefined;
  const last = stream.length - 1;
  if (!backwards) {
    const start = target.from === 'start' ? 0 : target.from === 'end' ? stream.length : Number(target.from);
    return stream.slice(start, start + count);
  }
  const start =
    target.from === 'end' ? last : target.from === 'start' ? 0 : Math.min(Number(target.from), last);
  const events: StoredEvent[] = [];
  for (let i = start; i >= 0 && events.length < count; i--) events.push(stream[i]!);
  return events;
};

const readAll = (
  log: EventLog,
  target: Extract<Target, { kind: 'all' }>,
  backwards: boolean,
  count: number,
  filter: EventFilter | undefined,
) => {
  const all = log.all;
  const events: StoredEvent[] = [];
  const take = (event: StoredEvent) => {
    if (!filter || filter.matches(event)) events.push(event);
    return events.length < count;
  };
  if (!backwards) {
    const start =
      target.from === 'start' ? 0 : target.from === 'end' ? all.length : indexFrom(all, target.from, true);
    for (let i = start; i < all.length && events.length < count; i++) take(all[i]!);
  } else {
    const start =
      target.from === 'end'
        ? all.length - 1
        : target.from === 'start'
          ? -1
          : indexFrom(all, target.from, true) - 1;
    for (let i = start; i >= 0 && events.length < count; i--) take(all[i]!);
  }
  return events;
};

const subscribe = (
  call: ReadCall,
  log: EventLog,
  target: Target,
  filter: EventFilter | undefined,
  structuredIds: boolean,
  subscriptions: Set<LiveSubscription>,
): void => {
  let stopped = false;
  let stop!: () => void;
  const stoppedSignal = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const end = () => {
    stopped = true;
    stop();
    subscriptions.delete(subscription);
  };
  const subscription: LiveSubscription = {
    drop: () => {
      if (stopped) return;
      end();
      call.emit('error', callError(grpc.status.UNAVAILABLE, 'Subscription dropped by the test server'));
    },
  };
  subscriptions.add(subscription);
  call.on('cancelled', end);
  const write = writer(call, stoppedSignal);

  const source = () => (target.kind === 'all' ? log.all : (log.stream(target.name) ?? []));
  // A cursor into `source()`: the stream's revision, or the index in `$all`, of the next event to look at.
  let cursor: number;
  if (target.kind === 'stream')
    cursor = target.from === 'start' ? 0 : target.from === 'end' ? source().length : Number(target.from) + 1;
  else
    cursor =
      target.from === 'start'
        ? 0
        : target.from === 'end'
          ? log.all.length
          : indexFrom(log.all, target.from, false);

  const run = async () => {
    await write(confirmationResp(newSubscriptionId()));
    let caughtUp = false;
    let considered = 0;
    while (!stopped) {
      const events = source();
      const event = events[cursor];
      if (event) {
        cursor++;
        if (!filter || filter.matches(event)) await write(eventResp(event, structuredIds));
        if (filter && ++considered % filter.checkpointInterval === 0)
          await write(checkpointResp(event.position));
        continue;
      }
      if (!caughtUp) {
        caughtUp = true;
        await write(caughtUpResp());
        continue;
      }
      // Taken in the same turn as finding no event, so an append in between cannot be missed.
      await Promise.race([log.nextAppend(), stoppedSignal]);
    }
  };
  run().catch((error: unknown) => {
    if (stopped) return;
    end();
    call.emit('error', callError(grpc.status.INTERNAL, String(error)));
  });
};

export const createReadHandler =
  (log: EventLog, subscriptions: Set<LiveSubscription>) =>
  (call: ReadCall): void => {
    const options = call.request.getOptions();
    const target = options && targetOf(options);
    if (!options || !target) {
      call.emit('error', callError(grpc.status.INVALID_ARGUMENT, 'a read names a stream or $all'));
      return;
    }
    let filter: EventFilter | undefined;
    try {
      // EventStoreDB filters `$all` only.
      filter = target.kind === 'all' ? filterOf(options) : undefined;
    } catch (error) {
      call.emit('error', callError(grpc.status.INVALID_ARGUMENT, `bad filter: ${String(error)}`));
      return;
    }
    const structuredIds = options.getUuidOption()?.hasStructured() ?? false;
    if (options.hasSubscription()) {
      subscribe(call, log, target, filter, structuredIds, subscriptions);
      return;
    }

    const backwards = options.getReadDirection() === 1;
    const count = Math.min(Number(options.getCount()), Number.MAX_SAFE_INTEGER);
    const events =
      target.kind === 'stream'
        ? readStream(log, target, backwards, count)
        : readAll(log, target, backwards, count, filter);
    const write = writer(call, new Promise((resolve) => call.once('cancelled', resolve)));
    void (async () => {
      if (!events && target.kind === 'stream') await write(streamNotFoundResp(target.name));
      for (const event of events ?? []) {
        if (call.cancelled) return;
        await write(eventResp(event, structuredIds));
      }
      if (!call.cancelled) call.end();
    })();
  };
