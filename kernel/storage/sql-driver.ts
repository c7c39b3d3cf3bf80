import type { SqlRunner } from './sql.ts';

/** Rows a statement returned. */
export type Rows = Record<string, unknown>[];

/** The few calls apflow makes on a driver connection. */
export interface Driver {
  query(sql: string, params: unknown[]): Promise<Rows>;
  /** One write that commits by itself, prepared where the driver keeps statements prepared. */
  commitOne(sql: string, params: unknown[]): Promise<void>;
  /** Runs `open` and `close` on one connection around `work` (which may use any connection). */
  session<T>(open: string, close: string, work: () => Promise<T>): Promise<T>;
  /** Runs `work` in a transaction on one connection. */
  transaction<T>(work: (runner: SqlRunner) => Promise<T>): Promise<T>;
  /** Lets go of what the driver keeps on its connections (before they close). */
  close(): Promise<void>;
}

/** What apflow uses of Sequelize's connection manager: the connections it opened. */
export type ConnectionManager = {
  getConnection(options?: Record<string, unknown>): Promise<unknown>;
  releaseConnection(connection: unknown): void;
};

/** A runner over one `query` function: rows for `select`, nothing for `run`. */
export function runnerOf(query: (sql: string, params: unknown[]) => Promise<Rows>): SqlRunner {
  return {
    // The caller names the row type: the database does not say it.
    select: <T>(sql: string, params: unknown[] = []) => query(sql, params) as Promise<T[]>,
    run: async (sql: string, params: unknown[] = []) => void (await query(sql, params)),
  };
}
