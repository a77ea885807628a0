import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/testDatabase.js';
import { runMigrations } from './migrations.js';

describe('runMigrations', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => database?.drop());

  const migrations = [
    { id: 'test_001_things', sql: 'CREATE TABLE things (id int PRIMARY KEY)' },
    { id: 'test_002_more', sql: 'ALTER TABLE things ADD COLUMN name text' },
  ];

  it('applies each migration once, even from five concurrent runs', async () => {
    const runs = await Promise.all(Array.from({ length: 5 }, () => runMigrations(database.pool, migrations)));
    expect(runs.flat().sort()).toEqual(['test_001_things', 'test_002_more']);
    const { rows } = await database.pool.query('SELECT id FROM schema_migrations ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual(['test_001_things', 'test_002_more']);
    expect(await runMigrations(database.pool, migrations)).toEqual([]);
  });

  it('rolls a failing migration back whole and names it', async () => {
    const broken = [
      { id: 'test_003_broken', sql: 'CREATE TABLE half (id int); SELECT * FROM missing_table' },
    ];
    await expect(runMigrations(database.pool, broken)).rejects.toThrow(/test_003_broken/);
    const { rows } = await database.pool.query("SELECT to_regclass('half') AS t");
    expect(rows[0].t).toBeNull();
    const recorded = await database.pool.query(
      "SELECT 1 FROM schema_migrations WHERE id = 'test_003_broken'",
    );
    expect(recorded.rowCount).toBe(0);
  });
});
