import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { type Harness, purchaseHarness } from './purchaseHarness.js';
import { postgresSubject, type StoreSubject } from './stores.js';
import { runMixedWorkload, type Workload } from './workload.js';

export type WorkloadFixture = { subject: StoreSubject; h: Harness; workload: Workload; pool: () => pg.Pool };

/** Registers the hooks for a fresh PostgreSQL database with the mixed workload run on it. */
export const useWorkloadFixture = (): WorkloadFixture => {
  const fixture = { pool: () => fixture.subject.database!.pool } as WorkloadFixture;
  beforeAll(async () => {
    fixture.subject = await postgresSubject();
    fixture.h = purchaseHarness(fixture.subject);
    fixture.workload = await runMixedWorkload(fixture.h);
  });
  afterAll(async () => {
    await fixture.h?.close();
    await fixture.subject?.teardown();
  });
  return fixture;
};
