import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'src/cli.ts');
const tsx = path.join(root, 'node_modules/.bin/tsx');

type Run = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

/** Runs the real `flashtix` command with only the environment given (no DATABASE_URL). */
const run = (args: string[], env: Record<string, string>): Run => {
  const child = spawn(tsx, [cli, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
};

const waitForOutput = async (r: Run, text: string, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!r.output().includes(text)) {
    if (Date.now() > deadline || r.child.exitCode !== null)
      throw new Error(`no "${text}" in:\n${r.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe('flashtix start on the embedded default', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'flashtix-start-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts its own PostgreSQL, migrates, reports ready, stops cleanly on SIGTERM and keeps its data', async () => {
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
