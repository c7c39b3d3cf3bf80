/** Shared setup of the task engine tests: an engine app on a test database, and running one tree. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createApp, isApflowError, type App, type TaskEvent } from 'apflow';
import { started, memoryLog, repoRoot } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** An app on database `url` with the fixture executors and the given `engine` settings. */
export async function engineApp(t: TestContext, url: string, engine: Record<string, unknown> = {}): Promise<App> {
  const app = await createApp({
    env: {},
    logStream: memoryLog().stream,
    inline: {
      database: { url },
      executors: { dirs: [fixtures] },
      examples: { auto_init: false },
      log: { level: 'warn' },
      engine,
    },
  });
  t.after(() => app.close());
  return app;
}

/** Creates and runs a tree; resolves with the outcome and every event the run announced. */
export async function runTree(app: App, tasks: unknown[], options: { userId?: string } = {}) {
  const tree = await app.engine.createTree(tasks, { userId: options.userId });
  const events: TaskEvent[] = [];
  const stop = app.engine.subscribe((event) => event.root_task_id === tree.id && events.push(event));
  const { done } = started(await app.engine.execute(tree.id));
  const outcome = await done;
  stop();
  return { tree, outcome, events, rows: new Map((await app.tasks.tree(tree.id)).map((row) => [row.id, row])) };
}

/** The message of the ApflowError `promise` rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  assert.ok(isApflowError(error), String(error));
  return error.message;
}
