import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import { ApflowError } from '../errors/apflow-error.ts';
import { redactUrl, type Logger } from '../internal/logger.ts';
import { migrations, type Migration } from './migrations/index.ts';
import { createSql, type Sql } from './sql.ts';
import { createTransientRetry } from './transient-retry.ts';

/** Result of a database round trip. */
export interface PingResult {
  ok: boolean;
  latency_ms: number;
  error?: string;
}

const PING_TIMEOUT_MS = 2000;

/**
 * Opens the database named by `url`: `sqlite:<path>` (WAL, file and folder created on first
 * start), `sqlite::memory:`, or `postgres(ql)://…`. Fails with APF_DATABASE_UNREACHABLE when
 * it cannot connect, naming the URL without its password.
 */
export async function createStorage(options: { url: string; log: Logger }) {
  const { url, log } = options;
  const dialect: 'sqlite' | 'postgres' = url.startsWith('sqlite:') ? 'sqlite' : 'postgres';
  const sequelize =
    dialect === 'sqlite'
      ? new Sequelize({ dialect, storage: sqlitePath(url), logging: false })
      : new Sequelize(url, { dialect, logging: false });
  try {
    await sequelize.authenticate();
    if (dialect === 'sqlite') {
      // WAL lets readers run beside the writer; FULL keeps a committed transaction on power loss.
      await sequelize.query('PRAGMA journal_mode = WAL');
      await sequelize.query('PRAGMA synchronous = FULL');
      await sequelize.query('PRAGMA busy_timeout = 5000');
    }
  } catch (error) {
    await sequelize.close().catch(() => undefined);
    throw new ApflowError('APF_DATABASE_UNREACHABLE', {
      message: `cannot open database ${redactUrl(url)}: ${(error as Error).message}`,
      cause: error,
    });
  }
  log.debug({ database: redactUrl(url) }, 'database open');
  const retry = createTransientRetry(log);
  const { sql, release } = createSql(sequelize, retry);

  return {
    sequelize,
    dialect,
    /**
     * Raw SQL with dialect helpers and one-at-a-time write transactions; each call retries a lost
     * connection, bounded (transient-retry.ts).
     */
    sql,
    /**
     * Runs pending migrations (once per start; the cluster primary runs them for its workers).
     * Servers starting together on one database take turns: one migrates, the others wait.
     */
    async migrate(): Promise<string[]> {
      return withMigrationLock(sql, () => runMigrations(migrations));
    },
    /**
     * Runs a plugin's pending migrations, recorded as `<plugin>/<name>` beside the kernel's, under
     * the same lock. Idempotent: generations and workers that load the plugin again skip them.
     */
    async migratePlugin(plugin: string, pluginMigrations: readonly Migration[]): Promise<string[]> {
      if (pluginMigrations.length === 0) return [];
      const named = pluginMigrations.map((migration) => ({ ...migration, name: `${plugin}/${migration.name}` }));
      return withMigrationLock(sql, () => runMigrations(named));
    },
    /** One round trip to the database, bounded in time (never retried: it reports what it finds). */
    ping,
    async close(): Promise<void> {
      retry.close();
      await release();
      await sequelize.close();
    },
  };

  async function runMigrations(list: readonly Migration[]): Promise<string[]> {
    const umzug = new Umzug({
      migrations: list.map((migration) => ({
        name: migration.name,
        up: () => migration.up(sequelize),
        down: () => migration.down(sequelize),
      })),
      storage: new SequelizeStorage({ sequelize, tableName: 'apflow_migrations' }),
      logger: undefined,
    });
    const done = await umzug.up();
    return done.map((migration) => migration.name);
  }

  async function ping(): Promise<PingResult> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sequelize.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
        }),
      ]);
      return { ok: true, latency_ms: round(performance.now() - started) };
    } catch (error) {
      return { ok: false, latency_ms: round(performance.now() - started), error: (error as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** An open database. */
export type Storage = Awaited<ReturnType<typeof createStorage>>;

function sqlitePath(url: string): string {
  const path = url.slice('sqlite:'.length);
  if (path === ':memory:') return path;
  mkdirSync(dirname(path), { recursive: true });
  return path;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * Runs `work` holding the database's migration lock: a PostgreSQL advisory lock, or SQLite's
 * write lock (taken by an empty `BEGIN IMMEDIATE` transaction that waits for busy writers).
 */
async function withMigrationLock<T>(sql: Sql, work: () => Promise<T>): Promise<T> {
  if (sql.dialect === 'postgres')
    return sql.withSession('SELECT pg_advisory_lock(7301190)', 'SELECT pg_advisory_unlock(7301190)', work);
  return sql.withSession('BEGIN IMMEDIATE', 'COMMIT', work);
}
