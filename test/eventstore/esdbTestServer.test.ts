import { randomUUID } from 'node:crypto';
import {
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  ANY,
  type AppendExpectedRevision,
  BACKWARDS,
  END,
  type EventData,
  EventStoreDBClient,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  MaxAppendSizeExceededError,
  NO_STREAM,
  type Position,
  type ResolvedEvent,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  type StreamSubscription,
  streamNameFilter,
  UnavailableError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
// The client's own uuid decoding, to check the structured form the client never asks for.
import grpcUuid from '@eventstore/db-client/dist/utils/grpcUUID.js';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  serverFeaturesGrpc,
  type serverFeaturesPb,
  sharedPb,
  streamsGrpc,
  streamsPb,
} from '../support/esdbTestServer/protocol.js';
import { type EsdbTestServer, startEsdbTestServer } from '../support/esdbTestServer.js';

let server: EsdbTestServer;
let client: EventStoreDBClient;

beforeAll(async () => {
  server = await startEsdbTestServer();
  client = EventStoreDBClient.connectionString(server.url);
});

afterAll(async () => {
  await client?.dispose();
  await server?.close();
});

const address = () => `127.0.0.1:${new URL(server.url).port}`;

const stream = (category = 'test') => `${category}-${randomUUID()}`;
const event = (type: string, data: Record<string, unknown> = {}) => jsonEvent({ type, data });

const readStream = async (name: string, options: Parameters<EventStoreDBClient['readStream']>[1] = {}) => {
  const events: ResolvedEvent[] = [];
  for await (const resolved of client.readStream(name, options)) events.push(resolved);
  return events;
};

const readAll = async (options: Parameters<EventStoreDBClient['readAll']>[0] = {}) => {
  const events: AllStreamResolvedEvent[] = [];
  for await (const resolved of client.readAll(options)) events.push(resolved);
  return events;
};

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/** Gathers what a subscription delivers, in the background. */
const collect = (subscription: AllStreamSubscription | StreamSubscription) => {
  const received: (AllStreamResolvedEvent | ResolvedEvent)[] = [];
  const state: { error?: unknown; caughtUp: boolean } = { caughtUp: false };
  subscription.on('data', (resolved: AllStreamResolvedEvent | ResolvedEvent) => received.push(resolved));
  subscription.on('error', (error: Error) => {
    state.error = error;
  });
  subscription.on('caughtUp', () => {
    state.caughtUp = true;
  });
  const waitFor = async (predicate: () => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out; received ${received.length} events`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const streams = () => received.map((r) => r.event?.streamId);
  return { received, state, waitFor, streams };
};

const positionOf = (resolved: { event?: { position?: Position } } | undefined): Position => {
  const position = resolved?.event?.position;
  if (!position) throw new Error('an event without a position');
  return position;
};

// With credentials the client appends through Streams/Append; without, through BatchAppend,
// which the server advertises. Both must mean the same.
const paths = [
  { path: 'BatchAppend', credentials: undefined },
  { path: 'Append', credentials: { username: 'admin', password: 'changeit' } },
] as const;

describe.each(paths)('appending through $path', ({ credentials }) => {
  const append = (name: string, events: EventData[], expectedRevision: AppendExpectedRevision) =>
    client.appendToStream(name, events, { expectedRevision, ...(credentials ? { credentials } : {}) });

  const expectConflict = async (promise: Promise<unknown>, actual: bigint | 'no_stream') => {
    const error = await failure(promise);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect((error as WrongExpectedVersionError).actualVersion).toBe(actual);
  };

  it('numbers revisions from 0 and reads the events back with their data, metadata and ids', async () => {
    const name = stream();
    const id = randomUUID();
    const first = await append(
      name,
      [
        jsonEvent({ id, type: 'A', data: { n: 1, s: 'é✓' }, metadata: { causation: 'x' } }),
        event('B', { n: 2 }),
      ],
      NO_STREAM,
    );
    expect(first.success).toBe(true);
    expect(first.nextExpectedRevision).toBe(1n);
    const second = await append(name, [event('C')], 1n);
    expect(second.nextExpectedRevision).toBe(2n);

    const events = await readStream(name);
    expect(events.map((r) => [r.event?.type, r.event?.revision])).toEqual([
      ['A', 0n],
      ['B', 1n],
      ['C', 2n],
    ]);
    expect(events[0]?.event).toMatchObject({ id, streamId: name, data: { n: 1, s: 'é✓' }, isJson: true });
    expect(events[0]?.event?.metadata).toEqual({ causation: 'x' });
    expect(events[0]?.event?.created.getTime()).toBeGreaterThan(Date.now() - 60_000);
    // The append answers the position of its last event; positions grow along the log.
    expect(positionOf(events[2])).toEqual(second.position);
    expect(positionOf(events[1])).toEqual(first.position);
    expect(positionOf(events[0]).commit < positionOf(events[1]).commit).toBe(true);
  });

  it('checks every form of expected revision and reports the actual one', async () => {
    const name = stream();
    await expectConflict(append(name, [event('A')], STREAM_EXISTS), 'no_stream');
    await expectConflict(append(name, [event('A')], 0n), 'no_stream');
    await append(name, [event('A')], NO_STREAM);
    await expectConflict(append(name, [event('B')], NO_STREAM), 0n);
    await append(name, [event('B')], STREAM_EXISTS);
    await expectConflict(append(name, [event('C')], 0n), 1n);
    await expectConflict(append(name, [event('C')], 5n), 1n);
    await append(name, [event('C')], 1n);
    const result = await append(name, [event('D')], ANY);
    expect(result.nextExpectedRevision).toBe(3n);
    expect((await readStream(name)).map((r) => r.event?.type)).toEqual(['A', 'B', 'C', 'D']);
  });

  it('takes a retried append with the same event ids once', async () => {
    const name = stream();
    const events = [event('A'), event('B')];
    const first = await append(name, events, NO_STREAM);
    const retried = await append(name, events, NO_STREAM);
    expect(retried).toMatchObject({ success: true, nextExpectedRevision: 1n, position: first.position });
    expect(await readStream(name)).toHaveLength(2);
  });

  it('refuses an append over 1 MiB of data, metadata and type', async () => {
    // A type of 3 characters counts 6 bytes; the JSON string adds its 2 quotes.
    const atLimit = 1_048_576 - 6 - 2;
    const name = stream();
    await append(name, [jsonEvent({ type: 'Big', data: 'x'.repeat(atLimit) })], NO_STREAM);
    const error = await failure(
      append(name, [jsonEvent({ type: 'Big', data: 'x'.repeat(atLimit + 1) })], ANY),
    );
    expect(error).toBeInstanceOf(MaxAppendSizeExceededError);
    expect((error as MaxAppendSizeExceededError).maxAppendSize).toBe(1_048_576);
    const split = [
      jsonEvent({ type: 'Big', data: 'x'.repeat(600_000) }),
      jsonEvent({ type: 'Big', data: 'y' }),
    ];
    split.push(jsonEvent({ type: 'Big', data: 'z'.repeat(500_000) }));
    expect(await failure(append(name, split, 0n))).toBeInstanceOf(MaxAppendSizeExceededError);
    expect(await readStream(name)).toHaveLength(1);
  });

  it('lets exactly one of concurrent appends with the same expected revision win', async () => {
    const name = stream();
    await append(name, [event('A')], NO_STREAM);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => append(name, [event('B')], 0n)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(WrongExpectedVersionError);
        expect((r.reason as WrongExpectedVersionError).actualVersion).toBe(1n);
      }
    expect(await readStream(name)).toHaveLength(2);
  });
});

describe('reading a stream', () => {
  it('throws StreamNotFoundError for a stream that does not exist', async () => {
    const name = stream();
    const error = await failure(readStream(name));
    expect(error).toBeInstanceOf(StreamNotFoundError);
    expect((error as StreamNotFoundError).streamName).toBe(name);
    expect(
      await failure(readStream(name, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })),
    ).toBeInstanceOf(StreamNotFoundError);
  });

  it('reads forwards and backwards from start, end or a revision, with a count', async () => {
    const name = stream();
    await client.appendToStream(
      name,
      ['A', 'B', 'C', 'D'].map((t) => event(t)),
    );
    const types = async (options: Parameters<EventStoreDBClient['readStream']>[1]) =>
      (await readStream(name, options)).map((r) => r.event?.type);
    expect(await types({ fromRevision: 1n, maxCount: 2 })).toEqual(['B', 'C']);
    expect(await types({ fromRevision: 9n })).toEqual([]);
    expect(await types({ fromRevision: END })).toEqual([]);
    expect(await types({ direction: BACKWARDS, fromRevision: END, maxCount: 1 })).toEqual(['D']);
    expect(await types({ direction: BACKWARDS, fromRevision: 2n })).toEqual(['C', 'B', 'A']);
    expect(await types({ direction: BACKWARDS, fromRevision: START })).toEqual(['A']);
    expect(await types({ direction: FORWARDS, fromRevision: START, maxCount: 1 })).toEqual(['A']);
  });
});

describe('reading $all', () => {
  it('holds the system events a fresh server has, before everything else', async () => {
    const first = await readAll({ maxCount: 3 });
    expect(first.map((r) => r.event?.streamId)).toEqual([
      '$settings',
      '$projections-$all',
      '$stats-127.0.0.1:2113',
    ]);
    expect(first.every((r) => r.event?.type.startsWith('$'))).toBe(true);
  });

  it('includes the event at fromPosition going forwards, and starts before it going backwards', async () => {
    const name = stream();
    await client.appendToStream(
      name,
      ['A', 'B', 'C'].map((t) => event(t)),
    );
    const ours = (await readAll()).filter((r) => r.event?.streamId === name);
    expect(ours.map((r) => r.event?.type)).toEqual(['A', 'B', 'C']);
    const b = positionOf(ours[1]);
    expect(ours[1]?.commitPosition).toBe(b.commit);
    expect(b.commit).toBe(b.prepare);
    expect((await readAll({ fromPosition: b, maxCount: 2 })).map((r) => r.event?.type)).toEqual(['B', 'C']);
    expect(
      (await readAll({ fromPosition: b, direction: BACKWARDS, maxCount: 1 })).map((r) => r.event?.type),
    ).toEqual(['A']);
    const last = await readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 });
    expect(last[0]?.event?.id).toBe(ours[2]?.event?.id);
    expect(await readAll({ fromPosition: END })).toEqual([]);
  });

  it('filters a read on the event type or the stream name (raw protocol: the client has no filtered readAll)', async () => {
    const name = stream('filtered');
    await client.appendToStream(name, [event('Ok')]);
    const [written] = await readStream(name);
    const raw = new streamsGrpc.StreamsClient(address(), grpc.credentials.createInsecure());
    const { Expression } = streamsPb.ReadReq.Options.FilterOptions;
    const read = (expression: InstanceType<typeof Expression>, on: 'type' | 'stream') => {
      const filter = new streamsPb.ReadReq.Options.FilterOptions()
        .setCount(new sharedPb.Empty())
        .setCheckpointintervalmultiplier(1);
      if (on === 'type') filter.setEventType(expression);
      else filter.setStreamIdentifier(expression);
      const options = new streamsPb.ReadReq.Options()
        .setAll(new streamsPb.ReadReq.Options.AllOptions().setStart(new sharedPb.Empty()))
        .setReadDirection(streamsPb.ReadReq.Options.ReadDirection.FORWARDS)
        .setCount('1000')
        // Ids in their structured form, which the client never asks for: decoded by the client's own code.
        .setUuidOption(new streamsPb.ReadReq.Options.UUIDOption().setStructured(new sharedPb.Empty()))
        .setFilter(filter);
      return new Promise<{ stream: string; id: string | undefined }[]>((resolve, reject) => {
        const events: { stream: string; id: string | undefined }[] = [];
        raw
          .read(new streamsPb.ReadReq().setOptions(options))
          .on('data', (resp: InstanceType<typeof streamsPb.ReadResp>) => {
            const recorded = resp.getEvent()?.getEvent();
            if (!recorded) return;
            const streamName = Buffer.from(
              recorded.getStreamIdentifier()?.getStreamName_asU8() ?? [],
            ).toString();
            events.push({ stream: streamName, id: grpcUuid.parseUUID(recorded.getId()) });
          })
          .on('error', reject)
          .on('end', () => resolve(events));
      });
    };
    try {
      const withoutSystem = await read(new Expression().setRegex('^[^$].*'), 'type');
      expect(withoutSystem).toContainEqual({ stream: name, id: written?.event?.id });
      expect(withoutSystem.some((e) => e.stream.startsWith('$'))).toBe(false);
      expect(await read(new Expression().setPrefixList(['filtered-']), 'stream')).toEqual([
        { stream: name, id: written?.event?.id },
      ]);
      expect((await read(new Expression().setRegex(`^${name}$`), 'stream')).map((e) => e.stream)).toEqual([
        name,
      ]);
    } finally {
      raw.close();
    }
  });
});

it('advertises what EventStoreDB 24.10 does for the methods it serves', async () => {
  const raw = new serverFeaturesGrpc.ServerFeaturesClient(address(), grpc.credentials.createInsecure());
  try {
    const supported = await new Promise<InstanceType<typeof serverFeaturesPb.SupportedMethods>>(
      (resolve, reject) =>
        raw.getSupportedMethods(new sharedPb.Empty(), (error, value) =>
          error ? reject(error) : resolve(value),
        ),
    );
    expect(supported.getEventStoreServerVersion()).toBe('24.10.0');
    const methods = supported
      .getMethodsList()
      .map((m) => `${m.getServiceName()}/${m.getMethodName()}:${m.getFeaturesList().join(',')}`);
    expect(methods).toEqual(
      expect.arrayContaining([
        'event_store.client.streams.streams/read:position,events',
        'event_store.client.streams.streams/append:',
        'event_store.client.streams.streams/batchappend:deadline_duration',
      ]),
    );
  } finally {
    raw.close();
  }
});

describe('subscriptions', () => {
  it('deliver $all strictly after fromPosition, catch up, then go live, without system events', async () => {
    const name = stream();
    await client.appendToStream(
      name,
      ['A', 'B'].map((t) => event(t)),
    );
    const a = (await readAll()).find((r) => r.event?.streamId === name && r.event.type === 'A');
    const subscription = client.subscribeToAll({
      fromPosition: positionOf(a),
      filter: excludeSystemEvents(),
    });
    const seen = collect(subscription);
    await seen.waitFor(() => seen.state.caughtUp);
    await client.appendToStream(name, [event('C')]);
    await seen.waitFor(() => seen.received.some((r) => r.event?.type === 'C'));
    await subscription.unsubscribe();
    expect(seen.received.map((r) => r.event?.type)).toEqual(['B', 'C']);
    expect(seen.state.error).toBeUndefined();
  });

  it('include system events unless filtered, and report checkpoints of a filtered subscription', async () => {
    const name = stream('cp');
    await client.appendToStream(name, [event('A')]);
    const unfiltered = client.subscribeToAll({ fromPosition: START });
    const all = collect(unfiltered);
    await all.waitFor(() => all.state.caughtUp);
    await unfiltered.unsubscribe();
    expect(all.streams().slice(0, 3)).toEqual(['$settings', '$projections-$all', '$stats-127.0.0.1:2113']);

    const checkpoints: Position[] = [];
    const filtered = client.subscribeToAll({
      fromPosition: START,
      filter: streamNameFilter({
        prefixes: [name],
        maxSearchWindow: 1,
        checkpointInterval: 2,
        checkpointReached: (_subscription, position) => {
          checkpoints.push(position);
        },
      }),
    });
    const some = collect(filtered);
    await some.waitFor(() => some.state.caughtUp);
    await filtered.unsubscribe();
    expect(some.streams()).toEqual([name]);
    // One checkpoint every 2 events looked at, at the last one looked at.
    expect(checkpoints.length).toBe(Math.floor(all.received.length / 2));
    expect(checkpoints[0]).toEqual(positionOf(all.received[1]));
  });

  it('deliver a stream strictly after fromRevision, then live', async () => {
    const name = stream();
    await client.appendToStream(
      name,
      ['A', 'B'].map((t) => event(t)),
    );
    const subscription = client.subscribeToStream(name, { fromRevision: 0n });
    const seen = collect(subscription);
    await seen.waitFor(() => seen.state.caughtUp);
    await client.appendToStream(name, [event('C')]);
    await seen.waitFor(() => seen.received.length === 2);
    await subscription.unsubscribe();
    expect(seen.received.map((r) => [r.event?.type, r.event?.revision])).toEqual([
      ['B', 1n],
      ['C', 2n],
    ]);
  });

  it('end with an error when the server drops them, and can be made again', async () => {
    const subscription = client.subscribeToAll({ fromPosition: END, filter: excludeSystemEvents() });
    const seen = collect(subscription);
    await seen.waitFor(() => seen.state.caughtUp);
    server.dropSubscriptions();
    await seen.waitFor(() => seen.state.error !== undefined);
    expect(seen.state.error).toBeInstanceOf(UnavailableError);

    const again = client.subscribeToAll({ fromPosition: END, filter: excludeSystemEvents() });
    const next = collect(again);
    await next.waitFor(() => next.state.caughtUp);
    const name = stream();
    await client.appendToStream(name, [event('A')]);
    await next.waitFor(() => next.received.length === 1);
    await again.unsubscribe();
    expect(next.streams()).toEqual([name]);
  });
});

it('lets a second client see the first one’s events, and disposes cleanly', async () => {
  const other = EventStoreDBClient.connectionString(server.url);
  const name = stream();
  await other.appendToStream(name, [event('A')]);
  const live = other.subscribeToAll({ fromPosition: START, filter: excludeSystemEvents() });
  const seen = collect(live);
  await seen.waitFor(() => seen.streams().includes(name));
  expect((await readStream(name)).map((r) => r.event?.type)).toEqual(['A']);
  await other.dispose();
  expect(seen.state.error).toBeUndefined();
});
