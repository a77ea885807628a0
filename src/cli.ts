#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './platform/config.js';
import { createLogger } from './platform/logger.js';
import { allMigrations, openRuntime, startApi, startProcessor, startProjector } from './runtime.js';

const USAGE = `Usage: flashtix <command> [options]

Commands:
  start [--role all|api|projector|processor]   start FlashTix (embedded PostgreSQL when DATABASE_URL is unset)
  migrate                                      apply database migrations and exit

Options:
  -h, --help   show help for a command

Configuration comes from environment variables; see README.md.`;

const HELP: Record<string, string> = {
  start: `Usage: flashtix start [--role all|api|projector|processor]

Starts FlashTix and keeps running until SIGINT or SIGTERM. With no DATABASE_URL it starts an
embedded PostgreSQL kept in DATA_DIR (default ./.flashtix).
  --role   which parts this process runs (default all)`,
  migrate: `Usage: flashtix migrate

Applies every pending database migration, then exits. Safe to run while other processes run.`,
};

const roles = ['all', 'api', 'projector', 'processor'] as const;

const main = async (argv: string[]): Promise<number> => {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, role: { type: 'string', default: 'all' } },
  });
  const command = positionals[0];
  if (!command || (values.help && !HELP[command])) {
    console.log(USAGE);
    return command || values.help ? 0 : 1;
  }
  if (!HELP[command]) {
    console.error(`flashtix: unknown command '${command}'\n\n${USAGE}`);
    return 1;
  }
  if (values.help) {
    console.log(HELP[command]);
    return 0;
  }
  const role = values.role as (typeof roles)[number];
  if (!roles.includes(role)) {
    console.error(`flashtix: --role must be one of ${roles.join(', ')}`);
    return 1;
  }

  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const runtime = await openRuntime(config, log);
  if (command === 'migrate') {
    log.info({ migrations: allMigrations.length }, 'database is up to date');
    await runtime.shutdown.run();
    return 0;
  }
  const stopped = runtime.shutdown.onSignals(() => undefined);
  if (role === 'all' || role === 'projector') await startProjector(runtime);
  if (role === 'all' || role === 'processor') startProcessor(runtime);
  const address = role === 'all' || role === 'api' ? await startApi(runtime) : undefined;
  log.info(
    { role, eventStore: config.eventStore, embeddedDatabase: !config.databaseUrl, url: address },
    'FlashTix ready',
  );
  if (address) console.log(`FlashTix is listening on ${address} (API docs: ${address}/docs)`);
  const signal = await stopped;
  log.info({ signal }, 'FlashTix stopped');
  return 0;
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(`flashtix: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
