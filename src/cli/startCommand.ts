import path from 'node:path';
import { type ApiOverrides, type Runtime, startApi, startProcessor, startProjector } from '../runtime.js';
import { type Command, UsageError } from './command.js';
import { openRuntimeFromEnvironment } from './openRuntimeFromEnvironment.js';

const roles = ['all', 'api', 'projector', 'processor'] as const;
type Role = (typeof roles)[number];

/** Starts the parts a role runs; returns the API's address when it runs one. */
export const startRoles = async (
  runtime: Runtime,
  role: Role,
  overrides: ApiOverrides = {},
): Promise<string | undefined> => {
  if (role === 'all' || role === 'projector') await startProjector(runtime);
  if (role === 'all' || role === 'processor') startProcessor(runtime);
  return role === 'all' || role === 'api' ? startApi(runtime, overrides) : undefined;
};

/** How to log in as admin, in words a person at the terminal can follow. */
export const adminHint = (runtime: Runtime): string => {
  const { admin } = runtime;
  if (!admin) return 'No admin account: set ADMIN_EMAIL and ADMIN_PASSWORD to create one.';
  const relative = admin.passwordFile && path.relative(process.cwd(), admin.passwordFile);
  const file = relative && !relative.startsWith('..') ? relative : admin.passwordFile;
  const where = file ? `the password is in ${file}` : 'with ADMIN_PASSWORD';
  return `Log in as admin: POST /auth/login as ${admin.email}, ${where}.`;
};

export const startCommand: Command = {
  name: 'start',
  summary: 'start FlashTix (embedded PostgreSQL when DATABASE_URL is unset)',
  help: `Usage: flashtix start [--role all|api|projector|processor]

Starts FlashTix and keeps running until SIGINT or SIGTERM, then finishes what is in flight
and closes. With no DATABASE_URL it starts an embedded PostgreSQL kept in DATA_DIR
(default ./.flashtix).

  --role   which parts this process runs (default all):
             api        the HTTP API
             projector  the read models and the availability cache
             processor  the purchase process manager and hold expiry`,
  options: { role: { type: 'string', default: 'all' } },
  run: async ({ values }) => {
    const role = values.role as Role;
    if (!roles.includes(role)) throw new UsageError(`--role must be one of ${roles.join(', ')}`);
    const runtime = await openRuntimeFromEnvironment();
    const stopped = runtime.shutdown.onSignals(() => undefined);
    let address: string | undefined;
    try {
      address = await startRoles(runtime, role);
    } catch (error) {
      await runtime.shutdown.run();
      throw error;
    }
    const { config, log } = runtime;
    log.info(
      { role, eventStore: config.eventStore, embeddedDatabase: !config.databaseUrl, url: address },
      'FlashTix ready',
    );
    if (address) {
      console.log(`FlashTix is listening on ${address} (API docs: ${address}/docs)`);
      console.log(adminHint(runtime));
    }
    const signal = await stopped;
    log.info({ signal }, 'FlashTix stopped');
    return 0;
  },
};
