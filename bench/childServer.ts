import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

export type ChildServer = {
  origin: string;
  /** CPU seconds the process has used so far (Linux; undefined elsewhere). */
  cpuSeconds: () => Promise<number | undefined>;
  stop: () => Promise<void>;
};

/** CPU time of a process from /proc, in seconds (user + system, at 100 ticks a second). */
const cpuSecondsOf = async (pid: number | undefined): Promise<number | undefined> => {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
};

/**
 * Starts a TypeScript entry point of this repository in its own Node process and waits until it
 * prints the URL it listens on. Node loads tsx itself (not the tsx command, which would put a
 * process of its own in between), so the CPU figures are the server's. With BENCH_PROFILE_DIR
 * set, the server writes a V8 CPU profile there when it exits.
 */
export const startChildServer = async (
  script: string,
  args: string[],
  env: Record<string, string>,
  /** What the process prints once it is ready; its first group, if any, is its URL. */
  ready: RegExp = /listening on (http:\/\/[^\s)]+)/,
): Promise<ChildServer> => {
  const profile = process.env.BENCH_PROFILE_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_PROFILE_DIR)}`]
    : [];
  const node = [...profile, '--import', 'tsx', path.join(root, script), ...args];
  const child: ChildProcess = spawn(process.execPath, node, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const origin = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) resolve(match[1] ?? '');
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${script} exited with ${code} before listening:\n${output}`)),
    );
  });
  // Keep draining its output so a chatty server never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    origin,
    cpuSeconds: () => cpuSecondsOf(child.pid),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
};

/** Busy share of all cores between two readings of /proc/stat (Linux; undefined elsewhere). */
export const machineBusyMeter = async (): Promise<() => Promise<number | undefined>> => {
  const read = async () => {
    try {
      const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
      const ticks = line.split(/\s+/).slice(1).map(Number);
      const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
      return { idle, total: ticks.reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const before = await read();
  return async () => {
    const after = await read();
    if (!before || !after || after.total === before.total) return undefined;
    return 1 - (after.idle - before.idle) / (after.total - before.total);
  };
};
