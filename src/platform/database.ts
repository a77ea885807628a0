import path from 'node:path';
import type { Config } from './config.js';
import { startEmbeddedPostgres } from './embeddedPostgres.js';
import type { Logger } from './logger.js';

export type Database = { url: string; embedded: boolean; stop(): Promise<void> };

const EMBEDDED_DATABASE = 'flashtix';

/** The configured PostgreSQL, or an embedded one kept in DATA_DIR when DATABASE_URL is unset. */
export const openDatabase = async (config: Config, log: Logger): Promise<Database> => {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: false, stop: async () => undefined };
  const dataDir = path.resolve(config.dataDir);
  log.info({ dataDir }, 'starting embedded PostgreSQL');
  const embedded = await startEmbeddedPostgres({
    dataDir,
    databases: [EMBEDDED_DATABASE],
    onLog: (message) => log.debug({ postgres: message.trim() }, 'embedded postgres'),
  });
  return { url: embedded.urlFor(EMBEDDED_DATABASE), embedded: true, stop: () => embedded.stop() };
};
