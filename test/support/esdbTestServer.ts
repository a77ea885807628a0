/**
 * TEST CODE ONLY. Not EventStoreDB, and never to be used outside tests.
 *
 * A gRPC server that speaks EventStoreDB's client protocol well enough for FlashTix's adapter
 * tests to run `@eventstore/db-client` against it where no EventStoreDB can run. It is built
 * with `@grpc/grpc-js` on the service definitions and message classes that ship in the client
 * (`@eventstore/db-client/generated`), and models EventStoreDB's documented behaviour for what
 * the client uses:
 * - `ServerFeatures/GetSupportedMethods`: Streams Read ("position", "events"), Append and
 *   BatchAppend ("deadline_duration"); server version 24.10.0. Advertising BatchAppend is what
 *   makes the client append through it (it falls back to Append only for calls with credentials).
 * - `Streams/Append` and `Streams/BatchAppend`: expected revision (any, no_stream,
 *   stream_exists, exact), idempotent retries by event id, the 1 MiB append limit; each event
 *   gets the next `$all` position, a byte offset used as both commit and prepare position, and
 *   the events of one append are contiguous in `$all`.
 * - `Streams/Read`: stream and `$all` reads in both directions, stream and `$all` catch-up
 *   subscriptions, `$all` filters on stream name or event type (regex or prefixes) with
 *   checkpoints. See ./esdbTestServer/read.ts for the exact semantics.
 * - The log starts with `$`-prefixed system events, as a fresh EventStoreDB's does.
 *
 * Each server has its own in-memory log. Not modelled: stream deletion and tombstones,
 * stream metadata ($maxCount, $maxAge, ACLs), links and `resolveLinkTos`, authentication,
 * persistent subscriptions, projections, gossip and clusters, TLS, fell-behind subscriptions.
 */

import type { SupportedMethods } from '@eventstore/db-client/generated/serverfeatures_pb.js';
import type { Empty } from '@eventstore/db-client/generated/shared_pb.js';
import * as grpc from '@grpc/grpc-js';
import { createAppendHandler, createBatchAppendHandler } from './esdbTestServer/append.js';
import { EventLog, seedSystemEvents } from './esdbTestServer/log.js';
import { serverFeaturesGrpc, serverFeaturesPb, streamsGrpc } from './esdbTestServer/protocol.js';
import { createReadHandler, type LiveSubscription } from './esdbTestServer/read.js';

export type EsdbTestServer = {
  /** A connection string for `EventStoreDBClient.connectionString`, e.g. `esdb://127.0.0.1:PORT?tls=false`. */
  url: string;
  /** Ends every running subscription with UNAVAILABLE, as a lost connection would, to test resubscribing. */
  dropSubscriptions(): void;
  close(): Promise<void>;
};

const SERVER_VERSION = '24.10.0';

// What EventStoreDB answers for these methods (service and method names lower-cased, as it sends them).
const SUPPORTED: ReadonlyArray<[service: string, method: string, features: string[]]> = [
  ['event_store.client.streams.streams', 'read', ['position', 'events']],
  ['event_store.client.streams.streams', 'append', []],
  ['event_store.client.streams.streams', 'batchappend', ['deadline_duration']],
  ['event_store.client.server_features.serverfeatures', 'getsupportedmethods', []],
];

const getSupportedMethods = (
  _call: grpc.ServerUnaryCall<Empty, SupportedMethods>,
  callback: grpc.sendUnaryData<SupportedMethods>,
): void => {
  const methods = new serverFeaturesPb.SupportedMethods().setEventStoreServerVersion(SERVER_VERSION);
  for (const [service, method, features] of SUPPORTED)
    methods.addMethods(
      new serverFeaturesPb.SupportedMethod()
        .setServiceName(service)
        .setMethodName(method)
        .setFeaturesList(features),
    );
  callback(null, methods);
};

/** Starts a server on 127.0.0.1 (a free port), without TLS, with a log of its own. */
export const startEsdbTestServer = async (): Promise<EsdbTestServer> => {
  const log = new EventLog();
  seedSystemEvents(log);
  const subscriptions = new Set<LiveSubscription>();
  const dropSubscriptions = () => {
    for (const subscription of [...subscriptions]) subscription.drop();
  };

  const server = new grpc.Server();
  // Delete and Tombstone are left to grpc-js, which answers UNIMPLEMENTED.
  server.addService(streamsGrpc.StreamsService, {
    read: createReadHandler(log, subscriptions),
    append: createAppendHandler(log),
    batchAppend: createBatchAppendHandler(log),
  });
  server.addService(serverFeaturesGrpc.ServerFeaturesService, { getSupportedMethods });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });

  return {
    url: `esdb://127.0.0.1:${port}?tls=false`,
    dropSubscriptions,
    close: async () => {
      dropSubscriptions();
      // Subscriptions and a client's BatchAppend stream never end by themselves: cut them.
      server.forceShutdown();
    },
  };
};
