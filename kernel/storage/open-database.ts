import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Sqlite3 from 'sqlite3';
import type { Options, Sequelize } from 'sequelize';
import { lazyRequire } from '../internal/lazy-require.ts';
import { sequelizeModule } from './data-types.ts';
import type { ConnectionManager } from './sql-driver.ts';

const sqlite3 = lazyRequire<typeof Sqlite3>('sqlite3');

/** An open database: the connections apflow's SQL runs on, and Sequelize for migrations. */
export interface OpenDatabase {
  dialect: 'sqlite' | 'postgres';
  /** The connections the SQL drivers use. */
  manager: ConnectionManager;
  /**
   * Sequelize on the same database, for migrations (their API is Sequelize's query interface).
   * On SQLite it is made on the first call, on the one connection apflow holds (a second one
   * would be another database for `:memory:`, and would wait on the migration lock): a start
   * with nothing to migrate never loads Sequelize (some 3 MB of JavaScript in 400 files).
   */
  sequelize(): Sequelize;
  close(): Promise<void>;
}

/** What a commit must survive before it counts (docs/configuration.md, "Durability"). */
export interface Durability {
  /** SQLite's `PRAGMA synchronous`: `full` syncs the WAL at every commit, `normal` at checkpoints. */
  sqlite: 'full' | 'normal';
  /** PostgreSQL's `synchronous_commit` for apflow's sessions; absent: the server's own setting. */
  postgres?: 'on' | 'off' | 'local' | 'remote_write' | 'remote_apply';
}

/**
 * Opens `url`: SQLite (`sqlite:<path>`, `sqlite::memory:`; WAL, foreign keys on, the file and its
 * folder made on first start) on one sqlite3 connection, or PostgreSQL through Sequelize's pool,
 * with the durability asked for. Rejects when the database cannot be reached.
 */
export async function openDatabase(url: string, durability: Durability = { sqlite: 'full' }): Promise<OpenDatabase> {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length), durability.sqlite);
  const { Sequelize } = sequelizeModule();
  const sequelize = new Sequelize(url, { dialect: 'postgres', logging: false });
  const commit = durability.postgres;
  // A session setting on every pooled connection as it opens (the value is one of the schema's
  // literals, never user text); SET rather than a startup option, which poolers such as PgBouncer refuse.
  if (commit)
    sequelize.addHook('afterConnect', async (connection) => {
      await (connection as { query(sql: string): Promise<unknown> }).query(`SET synchronous_commit = ${commit}`);
    });
  try {
    await sequelize.authenticate();
  } catch (error) {
    await sequelize.close().catch(() => undefined);
    throw error;
  }
  return {
    dialect: 'postgres',
    manager: (sequelize as unknown as { connectionManager: ConnectionManager }).connectionManager,
    sequelize: () => sequelize,
    close: () => sequelize.close(),
  };
}

async function openSqlite(path: string, synchronous: Durability['sqlite']): Promise<OpenDatabase> {
  const { Database, OPEN_READWRITE, OPEN_CREATE } = sqlite3();
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = await new Promise<Sqlite3.Database>((resolve, reject) => {
    const opened: Sqlite3.Database = new Database(path, OPEN_READWRITE | OPEN_CREATE, (error) =>
      error ? reject(error) : resolve(opened),
    );
  });
  const exec = (sql: string) =>
    new Promise<void>((resolve, reject) => db.exec(sql, (e) => (e ? reject(e) : resolve())));
  try {
    // WAL lets readers run beside the writer; FULL keeps a committed transaction on power loss,
    // NORMAL (in WAL mode) on a process crash only, never corrupting the file.
    const sync = synchronous === 'normal' ? 'NORMAL' : 'FULL';
    await exec(
      `PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = ${sync}; PRAGMA foreign_keys = ON`,
    );
  } catch (error) {
    await new Promise((resolve) => db.close(resolve));
    throw error;
  }
  let sequelize: Sequelize | undefined;
  return {
    dialect: 'sqlite',
    manager: { getConnection: async () => db, releaseConnection: () => undefined },
    sequelize: () => (sequelize ??= new (sequelizeModule().Sequelize)(sharedConnection(path, db))),
    close: () => new Promise<void>((resolve, reject) => db.close((error) => (error ? reject(error) : resolve()))),
  };
}

/**
 * Sequelize options whose SQLite "driver" (`dialectModule`, a documented option) hands out the
 * connection already open instead of opening one.
 */
function sharedConnection(path: string, db: Sqlite3.Database): Options {
  const { OPEN_READWRITE, OPEN_CREATE } = sqlite3();
  // Sequelize closes a connection it ran a transaction on: this one is apflow's, and stays open.
  const kept = new Proxy(db, {
    get(target, key) {
      if (key === 'close') return (done?: (error: Error | null) => void) => done?.(null);
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  function Database(_file: string, _mode: number, opened: (error: Error | null) => void) {
    process.nextTick(opened, null);
    return kept;
  }
  return { dialect: 'sqlite', storage: path, logging: false, dialectModule: { Database, OPEN_READWRITE, OPEN_CREATE } };
}
