import { randomUUID } from 'node:crypto';
import { binaryEvent, EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { describe, expect, it } from 'vitest';
import { EsdbEventStore } from '../../src/eventstore/esdb/esdbEventStore.js';
import { EventStoreUnavailableError } from '../../src/eventstore/eventStore.js';
import { startEsdbTestServer } from '../support/esdbTestServer.js';
import { waitFor } from '../support/waitFor.js';
import { eventStoreContract } from './contract.js';

// With EVENTSTORE_URL set the contract runs against that EventStoreDB as well (see README).
const realServer = process.env.EVENTSTORE_URL;

eventStoreContract('esdb over the protocol test server', async () => {
  const server = await startEsdbTestServer();
  const store = new EsdbEventStore({ connectionString: server.url });
  return {
    store,
    teardown: async () => {
      await store.close();
      await server.close();
    },
  };
});

if (realServer)
  eventStoreContract('esdb on EVENTSTORE_URL', async () => {
    const store = new EsdbEventStore({ connectionString: realServer });
    return { store, teardown: () => store.close() };
  });

describe('esdb adapter over the protocol test server', () => {
  it('resubscribes after the server drops a subscription, and delivers every event once, in order', async () => {
    const server = await startEsdbTestServer();
    const dropped: unknown[] = [];
    const store = new EsdbEventStore({
      connectionString: server.url,
      resubscribeDelayMs: 20,
      onBackgroundError: (error) => dropped.push(error),
    });
    try {
      const stream = `test-${randomUUID()}`;
      const append = (n: number) => store.appendToStream(stream, [{ type: 'Counted', data: { n } }]);
      const subscription = store.subscribeToAll();
      const received: number[] = [];
      const consuming = (async () => {
        for await (const event of subscription) received.push((event.data as { n: number }).n);
      })();
      for (let n = 0; n < 3; n++) await append(n);
      await waitFor('the first three', async () => received.length === 3);
      server.dropSubscriptions();
      for (let n = 3; n < 6; n++) await append(n);
      await waitFor('all six', async () => received.length >= 6);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual([0, 1, 2, 3, 4, 5]);
      expect(dropped.length).toBeGreaterThanOrEqual(1);
      await subscription.close();
      await consuming;
    } finally {
      await store.close();
      await server.close();
    }
  });

  it('refuses a connection string that would turn failed appends into successes', () => {
    expect(
      () =>
        new EsdbEventStore({
          connectionString: 'esdb://localhost:2113?tls=false&throwOnAppendFailure=false',
        }),
    ).toThrow(/throwOnAppendFailure/);
  });
});

describe('esdb adapter with what other writers and outages bring', () => {
  it('passes binary events through as bytes and leaves system streams out, whatever their event types', async () => {
    const server = await startEsdbTestServer();
    const client = EventStoreDBClient.connectionString(server.url);
    const store = new EsdbEventStore({ connectionString: server.url });
    try {
      const stream = `other-${randomUUID()}`;
      await client.appendToStream(
        stream,
        binaryEvent({ type: 'Blob', data: new Uint8Array([0xff, 0x00, 0x7b]) }),
      );
      await client.appendToStream(`$custom-${randomUUID()}`, jsonEvent({ type: 'Ordinary', data: { n: 1 } }));
      await store.appendToStream(`test-${randomUUID()}`, [{ type: 'Counted', data: { n: 2 } }]);

      const read = await store.readStream(stream);
      expect(read.events[0]!.data).toEqual(new Uint8Array([0xff, 0x00, 0x7b]));
      const all = await store.readAll();
      expect(all.map((e) => e.type)).toEqual(['Blob', 'Counted']);
      expect(await store.readAll({ maxCount: 0 })).toEqual([]);

      const subscription = store.subscribeToAll();
      const seen: string[] = [];
      const consuming = (async () => {
        for await (const event of subscription) seen.push(event.type);
      })();
      await waitFor('both events', async () => seen.length === 2);
      expect(seen).toEqual(['Blob', 'Counted']);
      await subscription.close();
      await consuming;
    } finally {
      await client.dispose();
      await store.close();
      await server.close();
    }
  });

  it('answers a server that is away with the port’s unavailable error', async () => {
    const server = await startEsdbTestServer();
    const { url } = server;
    await server.close();
    const store = new EsdbEventStore({ connectionString: url });
    try {
      await expect(
        store.appendToStream(`test-${randomUUID()}`, [{ type: 'Counted', data: {} }]),
      ).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(store.readStream(`test-${randomUUID()}`)).rejects.toBeInstanceOf(
        EventStoreUnavailableError,
      );
      await expect(store.readAll({ maxCount: 10 })).rejects.toBeInstanceOf(EventStoreUnavailableError);
    } finally {
      await store.close();
    }
  }, 60_000);
});
