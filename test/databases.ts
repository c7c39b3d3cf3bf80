import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';

/** A database the storage and engine tests run on. */
export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty database for one test; removed when the test ends. */
  create(t: TestContext): Promise<string>;
}

const sqlite: TestDatabase = {
  name: 'sqlite',
  async create(t) {
    const dir = mkdtempSync(join(tmpdir(), 'apflow-db-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    return `sqlite:${join(dir, 'apflow.sqlite')}`;
  },
};

/** The admin URL of the test PostgreSQL server (.ci/run starts one), if any. */
export const postgresAdminUrl = process.env.APFLOW_TEST_POSTGRES_URL;

const postgres: TestDatabase = {
  name: 'postgres',
  async create(t) {
    const name = `apflow_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: postgresAdminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    t.after(async () => {
      const cleanup = new pg.Client({ connectionString: postgresAdminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    });
    const url = new URL(postgresAdminUrl as string);
    url.pathname = `/${name}`;
    return url.href;
  },
};

/**
 * The databases to run storage tests on: SQLite always, PostgreSQL when
 * APFLOW_TEST_POSTGRES_URL is set (CI sets it; in CI a missing server is an error).
 */
export function testDatabases(): TestDatabase[] {
  if (postgresAdminUrl) return [sqlite, postgres];
  if (process.env.CI) throw new Error('CI must set APFLOW_TEST_POSTGRES_URL so the PostgreSQL tests run');
  return [sqlite];
}
