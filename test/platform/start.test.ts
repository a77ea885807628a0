import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purchaseOverHttp, run, waitForOutput } from '../support/flashtixProcess.js';

describe('flashtix start on the embedded default', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'flashtix-start-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts its own PostgreSQL, migrates, serves a whole purchase over HTTP, stops cleanly on SIGTERM and keeps its data', async () => {
    const first = run(['start'], { DATA_DIR: dataDir, PORT: '0' });
    await waitForOutput(first, 'FlashTix is listening on');
    expect(first.output()).toContain('eventstore_001_streams_and_events');
    // The API answers over a real socket, ready with every dependency it has.
    const url = /listening on (http:\/\/\S+) /.exec(first.output())![1]!;
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ok',
      checks: { eventStore: 'ok', postgres: 'ok', redis: 'not_configured' },
    });
    expect(first.output()).toContain('Log in as admin: POST /auth/login as admin@flashtix.local');
    const password = (await readFile(path.join(dataDir, 'admin-password'), 'utf8')).trim();
    await purchaseOverHttp(url, { email: 'admin@flashtix.local', password });
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // Second start: the cluster and its migrations are already there.
    const second = run(['start'], { DATA_DIR: dataDir, PORT: '0' });
    await waitForOutput(second, 'FlashTix is listening on');
    expect(second.output()).not.toContain('migrations applied');
    second.child.kill('SIGTERM');
    const secondCode = await second.exited;
    if (secondCode !== 0) console.log(second.output());
    expect(secondCode).toBe(0);
  }, 120_000);

  it('refuses a bad variable with a message that names it', async () => {
    const bad = run(['start'], { DATA_DIR: dataDir, PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('PORT');
    expect(bad.output()).toContain('LOG_LEVEL');
  });

  it('prints help for the command and for each subcommand', async () => {
    const help = run(['--help'], {});
    expect(await help.exited).toBe(0);
    expect(help.output()).toContain('Usage: flashtix <command>');
    const startHelp = run(['start', '--help'], {});
    expect(await startHelp.exited).toBe(0);
    expect(startHelp.output()).toContain('--role');
    const unknown = run(['launch'], {});
    expect(await unknown.exited).toBe(1);
  });
});
