import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/platform/embeddedPostgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A server URL (any database) on which test files may create and drop their own databases. */
    adminDatabaseUrl: string;
  }
}

/** Uses DATABASE_URL when set; otherwise starts an embedded PostgreSQL for this run only. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const configured = process.env.DATABASE_URL;
  if (configured) {
    project.provide('adminDatabaseUrl', configured);
    return async () => undefined;
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'flashtix-test-pg-'));
  const embedded = await startEmbeddedPostgres({ dataDir, persistent: false });
  project.provide('adminDatabaseUrl', embedded.urlFor('postgres'));
  return async () => {
    await embedded.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
