import { QueryTypes, Transaction, type Sequelize } from 'sequelize';

/** Runs one statement inside a write transaction. */
export type SqlRunner = {
  /** Rows of a SELECT (or of an UPDATE … RETURNING). */
  select<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A statement without rows. */
  run(sql: string, params?: unknown[]): Promise<void>;
};

/**
 * Raw SQL over Sequelize for the hot paths, with the few places where SQLite and PostgreSQL
 * differ in one spot. Writes go through {@link Sql.write}: one transaction at a time, so the
 * engine can batch many transitions into one commit.
 */
export function createSql(sequelize: Sequelize) {
  const dialect = sequelize.getDialect() === 'postgres' ? 'postgres' : 'sqlite';
  const pg = dialect === 'postgres';
  let queue: Promise<unknown> = Promise.resolve();

  const runner = (transaction?: Transaction): SqlRunner => ({
    select: <T>(sql: string, params: unknown[] = []) =>
      sequelize.query(sql, { replacements: params, type: QueryTypes.SELECT, transaction }) as Promise<T[]>,
    run: async (sql: string, params: unknown[] = []) => {
      await sequelize.query(sql, { replacements: params, transaction, type: QueryTypes.RAW });
    },
  });

  return {
    dialect,
    ...runner(),
    /** A placeholder for a JSON value (pass `jsonParam(value)`). */
    json: pg ? 'CAST(? AS jsonb)' : '?',
    /** A placeholder for a timestamp (pass an ISO string or null). */
    time: pg ? 'CAST(? AS timestamptz)' : '?',
    /**
     * Runs `work` in one write transaction. SQLite: `BEGIN IMMEDIATE` on the shared connection,
     * serialised here (SQLite has one writer anyway); PostgreSQL: a pooled transaction.
     */
    write<T>(work: (sql: SqlRunner) => Promise<T>): Promise<T> {
      const next = queue.then(async () => {
        if (pg) return sequelize.transaction((transaction) => work(runner(transaction)));
        const sql = runner();
        await sql.run('BEGIN IMMEDIATE');
        try {
          const result = await work(sql);
          await sql.run('COMMIT');
          return result;
        } catch (error) {
          await sql.run('ROLLBACK').catch(() => undefined);
          throw error;
        }
      });
      queue = next.catch(() => undefined);
      return next;
    },
  };
}

/** Raw SQL access with dialect helpers. */
export type Sql = ReturnType<typeof createSql>;

/** A JSON value as a statement parameter (null stays SQL NULL). */
export function jsonParam(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** `?, ?, ?` for `count` parameters. */
export function placeholders(count: number, placeholder = '?'): string {
  return Array.from({ length: count }, () => placeholder).join(', ');
}
