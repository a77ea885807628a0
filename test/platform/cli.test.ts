import { describe, expect, it } from 'vitest';
import { run } from '../support/flashtixProcess.js';
import { useWorkloadFixture } from '../support/workloadFixture.js';

/** Runs `flashtix` to its end against the given database; resolves with its exit code and output. */
const flashtix = async (args: string[], databaseUrl: string) => {
  const command = run(args, {
    DATABASE_URL: databaseUrl,
    JWT_SECRET: 'a-cli-test-secret-that-is-long-enough',
    LOG_LEVEL: 'warn',
  });
  const code = await command.exited;
  return { code, stdout: command.stdout(), stderr: command.stderr() };
};

describe('flashtix commands against a database', () => {
  const fixture = useWorkloadFixture();
  const url = () => fixture.subject.database!.url;

  it('projections rebuild replays the log with progress; status then says caught up', async () => {
    const rebuilt = await flashtix(['projections', 'rebuild', 'read-models'], url());
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stderr).toMatch(/read-models\s+rebuilt: \d+ events/);
    const status = await flashtix(['projections', 'status', '--json'], url());
    expect(status.code).toBe(0);
    const statuses = JSON.parse(status.stdout) as { name: string; eventsBehind: number }[];
    expect(statuses.map((s) => s.name)).toEqual([
      'read-models',
      'availability-cache',
      'notifications',
      'purchase-process',
    ]);
    expect(statuses[0]!.eventsBehind).toBe(0);
    const text = await flashtix(['projections', 'status'], url());
    expect(text.stdout).toMatch(/^read-models\s+caught up/m);
    const unknown = await flashtix(['projections', 'rebuild', 'nonsense'], url());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown projection nonsense');
  }, 60_000);

  it('demo runs a small flash sale end to end: nothing oversold, audit OK', async () => {
    const demo = await flashtix(['demo', '--buyers', '150', '--seats', '40', '--concurrency', '20'], url());
    if (demo.code !== 0) console.log(demo.stdout, demo.stderr);
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/Audit: OK/);
    expect(demo.stdout).toMatch(/oversold: no; sold \+ held \+ available = capacity: yes/);
    expect(demo.stderr).toMatch(/150 buyers/);
  }, 120_000);

  it('audit passes on a clean log, prints JSON, and exits 2 once the log breaks an invariant', async () => {
    const clean = await flashtix(['audit', '--json'], url());
    expect(clean.code).toBe(0);
    const report = JSON.parse(clean.stdout) as { ok: boolean; checkedEvents: number; readModels: string };
    expect(report).toMatchObject({ ok: true, readModels: 'matched' });
    expect(report.checkedEvents).toBeGreaterThan(100);
    const text = await flashtix(['audit'], url());
    expect(text.stdout).toMatch(/^OK: \d+ events checked, 0 violations/);

    await fixture.subject.store.appendToStream(`inventory-${crypto.randomUUID()}`, [
      {
        type: 'ReservationCommitted',
        data: {
          reservationId: crypto.randomUUID(),
          customerId: crypto.randomUUID(),
          quantity: 1,
          committedAt: new Date().toISOString(),
        },
      },
    ]);
    const broken = await flashtix(['audit'], url());
    expect(broken.code).toBe(2);
    expect(broken.stdout).toMatch(/^VIOLATIONS FOUND/);
  }, 60_000);

  it('refuses bad arguments with the command’s help', async () => {
    const bad = await flashtix(['demo', '--buyers', 'many'], url());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--buyers must be a positive whole number');
    expect(bad.stderr).toContain('Usage: flashtix demo');
    const unknownOption = await flashtix(['audit', '--loud'], url());
    expect(unknownOption.code).toBe(1);
    for (const command of ['start', 'migrate', 'projections', 'audit', 'demo']) {
      const help = await flashtix([command, '--help'], url());
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: flashtix ${command}`);
    }
  }, 60_000);
});
