import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EsdbEventStore } from '../../src/eventstore/esdb/esdbEventStore.js';
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
