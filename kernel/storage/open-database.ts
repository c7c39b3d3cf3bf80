import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { Sequelize } from 'sequelize';
import { lazyRequire } from '../internal/lazy-require.ts';
import { sequelizeModule } from './data-types.ts';
import type { ConnectionManager } from './sql-driver.ts';
import { sequelizeOnConnection } from './sqlite-for-sequelize.ts';

const betterSqlite3 = lazyRequire<typeof BetterSqlite3>('better-sqlite3');

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
 * folder made on first start) on one better-sqlite3 connection, or PostgreSQL through Sequelize's pool,
 * with the durability asked for. Rejects when the database cannot be reached.
 */
export async function openDatabase(url: string, durability: Durability = { sqlite: 'full' }): Promise<OpenDatabase> {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length), durability.sqlite);
  const { Sequelize } = sequelizeModule();
  const sequelize = new Sequelize(url, { dialect: 'postgres', logging: false });
  const commit = durability.postgres;
  // Session settings on every pooled connection as it opens (values are the schema's literals,
  // never user text); SET rather than startup options, which poolers such as PgBouncer refuse.
  // Dates are read in PostgreSQL's ISO output (postgres-types.ts), whatever the server's DateStyle.
  const settings = ['SET DateStyle = ISO', ...(commit ? [`SET synchronous_commit = ${commit}`] : [])];
  sequelize.addHook('afterConnect', async (connection) => {
    const client = connection as { query(sql: string): Promise<unknown>; pipeline: boolean };
    // node-postgres' pipeline mode (a Client option Sequelize does not pass on): a statement is
    // written at once, not after the answer to the one before (pipelined-transaction.ts).
    client.pipeline = true;
    await client.query(settings.join('; '));
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

/** Pages of write-ahead log between two checkpoints with `synchronous=normal` (about 40 MB). */
export const CHECKPOINT_PAGES = 10_000;

/** How long opening a SQLite file waits for another process's lock. */
const OPEN_WAIT_MS = 5000;

async function openSqlite(path: string, synchronous: Durability['sqlite']): Promise<OpenDatabase> {
  const Database = betterSqlite3();
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    // WAL lets readers run beside the writer; FULL keeps a committed transaction on power loss,
    // NORMAL (in WAL mode) on a process crash only, never corrupting the file.
    // Opening, nothing else runs here yet: wait as long as it takes another process (a CLI command
    // started beside this one on the same new file) to let go of its lock.
    db.pragma(`busy_timeout = ${OPEN_WAIT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('foreign_keys = ON');
    // A statement that changes many rows inside a transaction keeps a statement journal (the pages
    // it changed, to undo just that statement if it fails). This build of SQLite keeps temporary
    // storage in files by default: each engine turn then created, wrote (some 50 pages) and deleted
    // a file in the temp folder. In memory it is a copy (bench/README.md, session 23).
    db.pragma('temp_store = MEMORY');
    // A checkpoint copies the log's pages into the file and syncs it, inside a commit on the
    // server's only thread. At SQLite's default (every 1,000 pages, ~4 MB) a busy run copies the
    // same hot pages (its tree's rows, the indexes' ends) again every few dozen commits; ten times
    // as far apart, each is copied once where it was ten times, with a tenth of the syncs
    // (bench/README.md: +13% on a 10,000-task tree at `normal`). With `normal`, this is also how
    // much a power loss may take back (docs/configuration.md, "Durability"). Not with `full`: there
    // every commit syncs the log, and a log growing past its earlier end makes each of those syncs
    // write the file's new size too (a 1,000-step chain ~10% slower; the tree within noise).
    if (synchronous === 'normal') db.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
    // Then a lock wait would sleep the server's thread: kept short (sqlite-driver.ts waits the rest).
    db.pragma('busy_timeout = 5');
  } catch (error) {
    db.close();
    throw error;
  }
  let sequelize: Sequelize | undefined;
  return {
    dialect: 'sqlite',
    manager: { getConnection: async () => db, releaseConnection: () => undefined },
    sequelize: () => (sequelize ??= new (sequelizeModule().Sequelize)(sequelizeOnConnection(path, db))),
    close: async () => void db.close(),
  };
}
