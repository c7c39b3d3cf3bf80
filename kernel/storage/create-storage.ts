import type { KernelConfig } from '../config/config-schema.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import { redactUrl, type Logger } from '../internal/logger.ts';
import { migrations as kernelMigrations, type Migration } from './migrations/index.ts';
import { openDatabase, type Durability, type OpenDatabase } from './open-database.ts';
import { createMigrationRunner } from './run-migrations.ts';
import { createSql } from './sql.ts';
import { createTransientRetry } from './transient-retry.ts';

/** The durability a config's `database` section asks for. */
export function durabilityOf(database: KernelConfig['database']): Durability {
  return { sqlite: database.sqlite.synchronous, postgres: database.postgres.synchronous_commit };
}

/** Result of a database round trip. */
export interface PingResult {
  ok: boolean;
  latency_ms: number;
  /**
   * What a commit survives, as the connection reports it: SQLite's `synchronous` (`full`,
   * `normal`) or PostgreSQL's `synchronous_commit` (`on`, `off`…).
   */
  durability?: string;
  error?: string;
}

const SQLITE_SYNCHRONOUS = ['off', 'normal', 'full', 'extra'];

const PING_TIMEOUT_MS = 2000;

/**
 * Opens the database named by `url`: `sqlite:<path>` (WAL, file and folder created on first
 * start), `sqlite::memory:`, or `postgres(ql)://…`. Fails with APF_DATABASE_UNREACHABLE when
 * it cannot connect, naming the URL without its password.
 */
export async function createStorage(options: {
  url: string;
  log: Logger;
  durability?: Durability;
  /** PostgreSQL: prepare the engine's statements once per connection (`database.postgres.prepared_statements`). */
  preparedStatements?: boolean;
}) {
  const { url, log } = options;
  let database: OpenDatabase;
  try {
    database = await openDatabase(url, options.durability);
  } catch (error) {
    throw new ApflowError('APF_DATABASE_UNREACHABLE', {
      message: `cannot open database ${redactUrl(url)}: ${(error as Error).message}`,
      cause: error,
    });
  }
  log.debug({ database: redactUrl(url) }, 'database open');
  const { dialect } = database;
  const retry = createTransientRetry(log);
  const { sql, once, release } = createSql(dialect, database.manager, retry, {
    preparedStatements: options.preparedStatements !== false,
  });
  const migrations = createMigrationRunner(sql, () => database.sequelize());

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
    migrate: (): Promise<string[]> => migrations.run(kernelMigrations),
    /**
     * Runs a plugin's pending migrations, recorded as `<plugin>/<name>` beside the kernel's, under
     * the same lock. Idempotent: generations and workers that load the plugin again skip them.
     */
    async migratePlugin(plugin: string, pluginMigrations: readonly Migration[]): Promise<string[]> {
      const named = pluginMigrations.map((migration) => ({ ...migration, name: `${plugin}/${migration.name}` }));
      return migrations.run(named);
    },
    /** One round trip to the database, bounded in time (never retried: it reports what it finds). */
    ping,
    async close(): Promise<void> {
      retry.close();
      await release();
      await database.close();
    },
  };

  async function ping(): Promise<PingResult> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      // The round trip reads the durability setting: the answer shows what commits are made with.
      const rows = await Promise.race([
        once(dialect === 'sqlite' ? 'PRAGMA synchronous' : 'SHOW synchronous_commit'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
        }),
      ]);
      const setting = Object.values((rows as Record<string, unknown>[])[0] ?? {})[0];
      const durability = typeof setting === 'number' ? SQLITE_SYNCHRONOUS[setting] : String(setting);
      return { ok: true, latency_ms: round(performance.now() - started), durability };
    } catch (error) {
      return { ok: false, latency_ms: round(performance.now() - started), error: (error as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** An open database. */
export type Storage = Awaited<ReturnType<typeof createStorage>>;

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
