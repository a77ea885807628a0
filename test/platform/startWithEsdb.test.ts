import { describe, expect, it } from 'vitest';
import { startEsdbTestServer } from '../support/esdbTestServer.js';
import { purchaseOverHttp, run, waitForOutput } from '../support/flashtixProcess.js';
import { createTestDatabase } from '../support/testDatabase.js';

describe('flashtix start with EVENT_STORE=esdb', () => {
  it('runs the API, projections and process manager on EventStoreDB: a purchase end to end', async () => {
    const server = await startEsdbTestServer();
    const database = await createTestDatabase();
    const admin = { email: 'ops@example.com', password: 'an admin password' };
    const flashtix = run(['start'], {
      PORT: '0',
      DATABASE_URL: database.url,
      EVENTSTORE_URL: server.url,
      JWT_SECRET: 'a-test-secret-that-is-long-enough-for-hs256',
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      HOLD_EXPIRY_GRACE_MS: '0',
    });
    try {
      await waitForOutput(flashtix, 'FlashTix is listening on');
      // The log line may reach the pipe after the console lines.
      await waitForOutput(flashtix, '"eventStore":"esdb"');
      const url = /listening on (http:\/\/\S+) /.exec(flashtix.output())![1]!;
      await purchaseOverHttp(url, admin);
      // The events went to EventStoreDB, not to PostgreSQL's event tables.
      const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM es_events');
      expect(rows[0]!.n).toBe(0);
    } finally {
      flashtix.child.kill('SIGTERM');
      expect(await flashtix.exited).toBe(0);
      await database.drop();
      await server.close();
    }
  }, 120_000);
});
