import { ApflowError } from '../errors/apflow-error.ts';
import { redactUrl, type Logger } from '../internal/logger.ts';
import { migrations, type Migration } from './migrations/index.ts';
import { openDatabase, type OpenDatabase } from './open-database.ts';
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
  let database: OpenDatabase;
  try {
    database = await openDatabase(url);
  } catch (error) {
    throw new ApflowError('APF_DATABASE_UNREACHABLE', {
      message: `cannot open database ${redactUrl(url)}: ${(error as Error).message}`,
      cause: error,
    });
  }
  log.debug({ database: redactUrl(url) }, 'database open');
  const { dialect } = database;
  const retry = createTransientRetry(log);
  const { sql, once, release } = createSql(dialect, database.manager, retry);

  return {
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
    migrate: (): Promise<string[]> => runMigrations(migrations),
    /**
     * Runs a plugin's pending migrations, recorded as `<plugin>/<name>` beside the kernel's, under
     * the same lock. Idempotent: generations and workers that load the plugin again skip them.
     */
    async migratePlugin(plugin: string, pluginMigrations: readonly Migration[]): Promise<string[]> {
      const named = pluginMigrations.map((migration) => ({ ...migration, name: `${plugin}/${migration.name}` }));
      return runMigrations(named);
    },
    /** One round trip to the database, bounded in time (never retried: it reports what it finds). */
    ping,
    async close(): Promise<void> {
      retry.close();
      await release();
      await database.close();
    },
  };

  /**
   * Runs those of `list` not yet recorded, under the migration lock. Which are recorded is read
   * first without the lock (or Sequelize and umzug): a start with nothing to migrate loads neither.
   */
  async function runMigrations(list: readonly Migration[]): Promise<string[]> {
    if (list.length === 0) return [];
    const recorded = await recordedMigrations(sql);
    if (list.every((migration) => recorded.has(migration.name))) return [];
    return withMigrationLock(sql, async () => {
      const { SequelizeStorage, Umzug } = await import('umzug');
      const sequelize = database.sequelize();
      const umzug = new Umzug({
        migrations: list.map((migration) => ({
          name: migration.name,
          up: () => migration.up(sequelize),
          down: () => migration.down(sequelize),
        })),
        storage: new SequelizeStorage({ sequelize, tableName: MIGRATIONS_TABLE }),
        logger: undefined,
      });
      const done = await umzug.up();
      return done.map((migration) => migration.name);
    });
  }

  async function ping(): Promise<PingResult> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        once('SELECT 1'),
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

/** Where umzug records the migrations run (its SequelizeStorage: one `name` column). */
const MIGRATIONS_TABLE = 'apflow_migrations';

/** The names of the migrations recorded as run (none before the table exists). */
async function recordedMigrations(sql: Sql): Promise<Set<string>> {
  const exists =
    sql.dialect === 'postgres'
      ? await sql.select(`SELECT 1 FROM pg_tables WHERE tablename = ? AND schemaname = current_schema()`, [
          MIGRATIONS_TABLE,
        ])
      : await sql.select(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, [MIGRATIONS_TABLE]);
  if (exists.length === 0) return new Set();
  const rows = await sql.select<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE}`);
  return new Set(rows.map((row) => row.name));
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
