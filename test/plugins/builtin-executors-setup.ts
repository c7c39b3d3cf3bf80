/** Shared setup of the built-in executor tests: running a tree or one task, and reading its outcome. */
import assert from 'node:assert/strict';
import type { App } from 'apflow';
import { started } from '../helpers.ts';

type Row = Awaited<ReturnType<App['tasks']['tree']>>[number];
/** A JSON object. */
export type Json = Record<string, unknown>;

/** Creates a tree, runs it to the end and returns its rows by name. */
export async function runTree(app: App, tasks: Json[]) {
  const tree = await app.engine.createTree(tasks);
  const { done } = started(await app.engine.execute(tree.id));
  const outcome = await done;
  const rows = await app.tasks.tree(tree.id);
  const byName = (name: string): Row => {
    const row = rows.find((candidate) => candidate.name === name);
    assert.ok(row, `no task named ${name}`);
    return row;
  };
  return { tree, outcome, rows, byName };
}

/** Runs one task with executor `method` and returns its row. */
export async function runOne(app: App, method: string, inputs: Json = {}): Promise<Row> {
  const { rows } = await runTree(app, [{ name: method, schemas: { method }, inputs }]);
  assert.equal(rows.length, 1);
  return rows[0] as Row;
}

/** The result of a task that must have completed. */
export function completed<T = Json>(row: Row): T {
  assert.equal(row.status, 'completed', `task failed: ${String(row.error)}`);
  assert.equal(row.error, null);
  return row.result as T;
}

/** The error of a task that must have failed. */
export function failed(row: Row): string {
  assert.equal(row.status, 'failed', `task did not fail: ${JSON.stringify(row.result)}`);
  assert.equal(typeof row.error, 'string');
  return row.error as string;
}
