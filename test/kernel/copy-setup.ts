/** Shared setup of the task copy tests: the main fixture tree, an engine app, and views of a copy. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createApp, isApflowError, type App } from 'apflow';
import { started, memoryLog, repoRoot } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

type CopyResult = Awaited<ReturnType<App['engine']['copy']>>;
type CopyTree = Exclude<CopyResult, { saved: false }>;
/** What a copy with save=false returns. */
export type CopyArray = Extract<CopyResult, { saved: false }>;
/** A stored task row. */
export type Row = NonNullable<Awaited<ReturnType<App['tasks']['get']>>>;

/**
 * The main fixture. Dependencies: b on a, k on a2 (optional), h on b and d, root on h.
 *   root ─┬─ g ─┬─ a ─┬─ a1
 *         │     │     └─ a2
 *         │     ├─ b
 *         │     └─ k
 *         ├─ h
 *         └─ d
 */
const MAIN = [
  { id: 'root', name: 'root', schemas: { method: 'echo' }, dependencies: ['h'], user_id: 'u1' },
  { id: 'g', name: 'g', parent_id: 'root', schemas: { method: 'noop' } },
  { id: 'a', name: 'a', parent_id: 'g', schemas: { method: 'echo' }, inputs: { x: 1 }, priority: 2 },
  { id: 'a1', name: 'a1', parent_id: 'a', schemas: { method: 'echo' }, inputs: { token_usage: { total_tokens: 42 } } },
  { id: 'a2', name: 'a2', parent_id: 'a', schemas: { method: 'echo' } },
  { id: 'b', name: 'b', parent_id: 'g', schemas: { method: 'echo' }, dependencies: ['a'] },
  { id: 'k', name: 'k', parent_id: 'g', schemas: { method: 'echo' }, dependencies: [{ id: 'a2', required: false }] },
  { id: 'h', name: 'h', parent_id: 'root', schemas: { method: 'echo' }, dependencies: ['b', 'd'] },
  { id: 'd', name: 'd', parent_id: 'root', schemas: { method: 'echo' }, params: { note: 'keep' } },
];
/** The ids of the main fixture. */
export const MAIN_IDS = MAIN.map((task) => task.id);

/** An app on database `url` with the fixture executors. */
export async function engineApp(t: TestContext, url: string): Promise<App> {
  const app = await createApp({
    env: {},
    logStream: memoryLog().stream,
    inline: { database: { url }, executors: { dirs: [fixtures] }, log: { level: 'warn' } },
  });
  t.after(() => app.close());
  return app;
}

/** Runs `taskId` (a whole tree for a root) to its end. */
export async function run(app: App, taskId: string): Promise<string> {
  const { done } = started(await app.engine.execute(taskId));
  return (await done).status;
}

/** Creates the main tree and runs it: every task completed. */
export async function completedMain(app: App): Promise<Map<string, Row>> {
  await app.engine.createTree(MAIN);
  assert.equal(await run(app, 'root'), 'completed');
  return byId(await app.tasks.tree('root'));
}

/** Copies `taskId` (saved) and returns the copied tree. */
export async function saved(
  app: App,
  taskId: string,
  options: Parameters<App['engine']['copy']>[1] = {},
): Promise<CopyTree> {
  const result = await app.engine.copy(taskId, options);
  assert.ok(!('saved' in result), 'a saved copy returns the tree');
  return result;
}

/** A copied tree, parents before children. */
export function flatten(node: CopyTree): CopyTree[] {
  return [node, ...(node.children ?? []).flatMap(flatten)];
}

/** Rows by id. */
export function byId(rows: readonly Row[]): Map<string, Row> {
  return new Map(rows.map((row) => [row.id, row]));
}

/** Original id → copy, for the tasks of a copy. */
export function byOriginal<T extends { original_task_id: string | null }>(copies: readonly T[]): Map<string, T> {
  return new Map(copies.map((copy) => [copy.original_task_id as string, copy]));
}

/** The ids, sorted. */
export const sorted = (ids: Iterable<string>) => [...ids].sort();

/** The ApflowError `promise` rejects with, as code and message. */
export async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  assert.ok(isApflowError(error), String(error));
  return { code: error.code, message: error.message };
}
