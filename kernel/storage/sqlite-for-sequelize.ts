import type BetterSqlite3 from 'better-sqlite3';
import type { Options } from 'sequelize';

type Done = (this: { lastID?: number | bigint; changes?: number }, error: Error | null, rows?: unknown[]) => void;

/**
 * Sequelize options whose SQLite "driver" (`dialectModule`, a documented option) is apflow's own
 * open connection, seen through the few calls Sequelize's SQLite dialect makes of the `sqlite3`
 * package (`Database(file, mode, opened)`, `serialize`, `all`, `run`, `exec`, `close`). Sequelize
 * runs only migrations written with it, on the connection apflow holds: a second connection
 * would be another database for `:memory:`, and would wait on the migration lock.
 */
export function sequelizeOnConnection(path: string, db: BetterSqlite3.Database): Options {
  const call = (work: () => { rows?: unknown[]; lastID?: number | bigint; changes?: number }, done?: Done) => {
    let answer: ReturnType<typeof work>;
    try {
      answer = work();
    } catch (error) {
      process.nextTick(() => done?.call({}, error as Error));
      return;
    }
    process.nextTick(() => done?.call({ lastID: answer.lastID, changes: answer.changes }, null, answer.rows));
  };
  const params = (given: unknown): unknown[] | Record<string, unknown> =>
    Array.isArray(given) ? given : given && typeof given === 'object' ? (given as Record<string, unknown>) : [];
  // Sequelize asks `all` of statements that return nothing (CREATE TABLE…): each is run as what it is.
  const statement = (sql: string, given: unknown, done?: Done) =>
    call(
      () => {
        const prepared = db.prepare(sql);
        if (prepared.reader) return { rows: prepared.all(params(given)) };
        const result = prepared.run(params(given));
        return { rows: [], lastID: result.lastInsertRowid, changes: result.changes };
      },
      typeof given === 'function' ? (given as Done) : done,
    );
  const connection = {
    filename: path,
    serialize: (work: () => void) => work(),
    all: (sql: string, given: unknown, done?: Done) => statement(sql, given, done),
    run: (sql: string, given: unknown, done?: Done) => statement(sql, given, done),
    exec(sql: string, done?: Done) {
      call(() => (db.exec(sql), {}), done);
    },
    // The connection is apflow's: Sequelize closing it after a transaction leaves it open.
    close: (done?: (error: Error | null) => void) => done?.(null),
  };
  function Database(_file: string, _mode: number, opened: (error: Error | null) => void) {
    process.nextTick(opened, null);
    return connection;
  }
  return {
    dialect: 'sqlite',
    storage: path,
    logging: false,
    dialectModule: { Database, OPEN_READWRITE: 2, OPEN_CREATE: 4 },
  };
}
