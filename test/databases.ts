import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { createLogger } from '../kernel/internal/logger.ts';
import { createStorage, type Storage } from '../kernel/storage/create-storage.ts';
import type { Durability } from '../kernel/storage/open-database.ts';

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
    // node:test runs a test's after-hooks in the order they were added, so the app on this
    // database (added later) is still open here: dropping it now cut the app's live connections
    // (57P01), and one without an error listener yet could end the test file. It is dropped in the
    // background once the app's connections are gone (FORCE only after 10 s).
    t.after(() => void dropWhenUnused(name));
    const url = new URL(postgresAdminUrl as string);
    url.pathname = `/${name}`;
    return url.href;
  },
};

async function dropWhenUnused(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: postgresAdminUrl });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    for (let waited = 0; waited < 10_000; waited += 100) {
      const { rows } = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if ((rows[0] as { n: number }).n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } catch {
    // A throw-away server: a database left behind goes with it.
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/**
 * The databases to run storage tests on: SQLite always, PostgreSQL when
 * APFLOW_TEST_POSTGRES_URL is set (CI sets it; in CI a missing server is an error).
 */
export function testDatabases(): TestDatabase[] {
  if (postgresAdminUrl) return [sqlite, postgres];
  if (process.env.CI) throw new Error('CI must set APFLOW_TEST_POSTGRES_URL so the PostgreSQL tests run');
  return [sqlite];
}

/** Storage alone (no engine) on the database at `url`, quiet, at `durability` (else the default); the caller closes it. */
export function openStorage(url: string, durability?: Durability): Promise<Storage> {
  return createStorage({
    url,
    log: createLogger({ level: 'silent', format: 'json' }),
    ...(durability ? { durability } : {}),
  });
}

/** {@link openStorage}, closed when the test ends. */
export async function testStorage(t: TestContext, url: string, durability?: Durability): Promise<Storage> {
  const storage = await openStorage(url, durability);
  t.after(() => storage.close());
  return storage;
}
