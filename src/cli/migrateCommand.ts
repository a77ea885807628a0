import { allMigrations } from '../runtime.js';
import type { Command } from './command.js';
import { openRuntimeFromEnvironment } from './openRuntimeFromEnvironment.js';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply database migrations and exit',
  help: `Usage: flashtix migrate

Applies every pending database migration, then exits. Safe to run while other processes run.`,
  options: {},
  run: async () => {
    const runtime = await openRuntimeFromEnvironment();
    runtime.log.info({ migrations: allMigrations.length }, 'database is up to date');
    await runtime.shutdown.run();
    return 0;
  },
};
