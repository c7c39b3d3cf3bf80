import { TASK_COLUMNS, type TaskRow } from '../../tasks/task-record.ts';
import type { Sql, SqlRunner, Statement } from '../sql.ts';
import { chunks, columnType, paramFor } from './task-columns.ts';

/**
 * The statements that insert whole task rows, many per statement, made one at a time as they are
 * run (a big tree's parameters are never all in memory at once). A column no row of a chunk has a
 * value for is left out (the database stores NULL: the columns with defaults are NOT NULL, so
 * none of those is ever empty): most of a task's 39 columns are empty until it runs, and each
 * value sent is one more to pass and take apart (a fifth of a 10,000-task tree's time went into
 * its insert).
 */
export function* insertStatements(sql: Sql, rows: readonly TaskRow[], tail = ''): Generator<Statement> {
  for (const chunk of chunks(rows, 200)) {
    const columns = TASK_COLUMNS.filter((column) =>
      chunk.some((row) => row[column] !== null && row[column] !== undefined),
    );
    const types = columns.map(columnType);
    const [from, params] = sql.table(
      'v',
      types,
      chunk.map((row) => columns.map((column) => paramFor(column, row[column]))),
    );
    const values = columns.map((column, i) => sql.valueOf(`v.column${i + 1}`, types[i]));
    // `WHERE true`: SQLite reads an upsert after `INSERT … SELECT … FROM x` as a join's ON otherwise.
    yield [
      `INSERT INTO apflow_tasks (${columns.join(', ')}) SELECT ${values.join(', ')} FROM ${from} WHERE true${tail}`,
      params,
    ];
  }
}

/** Inserts whole task rows, many per statement (call inside `sql.write`). */
export async function insertTasks(sql: Sql, runner: SqlRunner, rows: readonly TaskRow[]): Promise<void> {
  for (const [text, params] of insertStatements(sql, rows)) await runner.run(text, params);
}

/**
 * Inserts the rows whose id is free, leaving out those whose id is taken (also by an earlier row
 * of the same call); returns the ids inserted (call inside `sql.write`).
 */
export async function insertFreeTasks(sql: Sql, runner: SqlRunner, rows: readonly TaskRow[]): Promise<Set<string>> {
  // Each statement is sent as it is made, before the answers to those before it (on a pipelined
  // connection the database stores the first rows while the rest are built).
  const answers: Promise<{ id: string }[]>[] = [];
  for (const [text, params] of insertStatements(sql, rows, ' ON CONFLICT (id) DO NOTHING RETURNING id'))
    answers.push(runner.select<{ id: string }>(text, params));
  return new Set((await Promise.all(answers)).flat().map((row) => row.id));
}
