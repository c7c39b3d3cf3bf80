import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createApp } from 'apflow';
import { eventually, memoryLog, repoRoot, runApflow, spawnApflow, tempProject } from '../helpers.ts';

const fixture = (name: string) => readFileSync(join(repoRoot, 'test', 'fixtures', 'executors', name), 'utf8');

/** A project with the fixture executors and its own SQLite file. */
function project(t: TestContext, files: Record<string, string> = {}) {
  const dir = tempProject(t, {
    'executors/_runs.ts': fixture('_runs.ts'),
    'executors/sleep.ts': fixture('sleep.ts'),
    'executors/hang.ts': fixture('hang.ts'),
    'executors/fail.ts': fixture('fail.ts'),
    ...files,
  });
  return { dir, env: { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' } };
}

const tree = {
  tasks: [
    { id: 'root', name: 'Aggregate', schemas: { method: 'aggregate_results_executor' }, dependencies: ['cpu', 'nap'] },
    {
      id: 'cpu',
      name: 'CPU',
      parent_id: 'root',
      schemas: { method: 'system_info_executor' },
      inputs: { resource: 'cpu' },
    },
    { id: 'nap', name: 'Nap', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 20 } },
  ],
};

test('apflow run FILE.json runs the tree and prints the outcome as JSON; tasks get/tree/status/list read it back', async (t) => {
  const { dir, env } = project(t, { 'tree.json': JSON.stringify(tree) });
  const run = await runApflow(['run', 'tree.json'], { cwd: dir, env });
  assert.equal(run.code, 0, run.stderr);
  const outcome = JSON.parse(run.stdout);
  assert.equal(outcome.status, 'completed');
  assert.equal(outcome.root_task_id, 'root');
  assert.equal(outcome.result.summary, 'Task Results Aggregation');
  assert.deepEqual(Object.keys(outcome.result.results).sort(), ['cpu', 'nap']);
  assert.equal(run.stderr, '', 'no live progress when stderr is not a terminal, and no log noise');

  const get = await runApflow(['tasks', 'get', 'cpu'], { cwd: dir, env });
  assert.equal(JSON.parse(get.stdout).status, 'completed');
  assert.equal(Object.keys(JSON.parse(get.stdout)).length, 20);
  const treeOut = JSON.parse((await runApflow(['tasks', 'tree', 'nap'], { cwd: dir, env })).stdout);
  assert.equal(treeOut.id, 'root');
  assert.deepEqual(treeOut.children.map((child: { id: string }) => child.id).sort(), ['cpu', 'nap']);
  const status = JSON.parse((await runApflow(['tasks', 'status', 'root', 'ghost'], { cwd: dir, env })).stdout);
  assert.equal(status[0].status, 'completed');
  assert.deepEqual(status[1], { task_id: 'ghost', status: 'not_found' });
  const list = JSON.parse((await runApflow(['tasks', 'list'], { cwd: dir, env })).stdout);
  assert.deepEqual(
    list.map((task: { id: string }) => task.id),
    ['root'],
    'roots only by default',
  );
  const all = JSON.parse(
    (await runApflow(['tasks', 'list', '--all', '--status', 'completed'], { cwd: dir, env })).stdout,
  );
  assert.equal(all.length, 3);
  const missing = await runApflow(['tasks', 'get', 'ghost'], { cwd: dir, env });
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'apflow: Task ghost not found (APF_NOT_FOUND)\n');
});

test('apflow run exits 1 when the tree fails, and reads the tasks from stdin with -', async (t) => {
  const { dir, env } = project(t, {
    'bad.json': JSON.stringify([{ name: 'root', schemas: { method: 'fail' }, inputs: { message: 'no luck' } }]),
  });
  const run = await runApflow(['run', 'bad.json'], { cwd: dir, env });
  assert.equal(run.code, 1);
  const outcome = JSON.parse(run.stdout);
  assert.equal(outcome.status, 'failed');
  assert.equal(outcome.error, 'no luck');

  const invalid = await runApflow(['run', 'nope.json'], { cwd: dir, env });
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /^apflow: cannot read nope\.json: .*\(APF_INVALID_PARAMS\)\n$/);
  const cycle = project(t, { 'cycle.json': JSON.stringify([{ id: 'a', name: 'a', dependencies: ['a'] }]) });
  const rejected = await runApflow(['run', 'cycle.json'], { cwd: cycle.dir, env: cycle.env });
  assert.equal(rejected.code, 1);
  assert.match(rejected.stderr, /Circular dependency detected: a -> a/);
});

test('apflow tasks cancel reaches a tree that another process is running', { timeout: 120_000 }, async (t) => {
  const { dir, env } = project(t, {
    'long.json': JSON.stringify([
      { id: 'root', name: 'root', schemas: { method: 'sleep' }, inputs: { ms: 1 } },
      { id: 'h', name: 'h', parent_id: 'root', schemas: { method: 'hang' } },
    ]),
    'apflow.config.json': JSON.stringify({ engine: { lease_s: 1 } }),
  });
  // Watch the database from here: spawning a process per look is too slow on a loaded machine.
  const reader = await createApp({ cwd: dir, env, resume: false, logStream: memoryLog().stream });
  t.after(() => reader.close());
  const run = spawnApflow(['run', 'long.json'], { cwd: dir, env });
  t.after(() => run.child.kill('SIGKILL'));
  await eventually(async () => (await reader.tasks.get('h').catch(() => null))?.status === 'in_progress', 60_000);
  const cancel = await runApflow(['tasks', 'cancel', 'root', '--message', 'stop now'], { cwd: dir, env });
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.deepEqual(JSON.parse(cancel.stdout), [{ task_id: 'root', status: 'cancelled', message: 'stop now' }]);
  assert.equal(
    await run.exited,
    1,
    'the running process noticed, aborted its executor and reported the tree not completed',
  );
  const outcome = JSON.parse(run.stdout());
  assert.equal(outcome.status, 'cancelled');
  const status = JSON.parse((await runApflow(['tasks', 'status', 'h'], { cwd: dir, env })).stdout);
  assert.equal(status[0].status, 'cancelled');
  assert.equal(status[0].error, 'stop now');
});

test('apflow tasks watch prints state changes until the tree is done; bad actions are named', async (t) => {
  const { dir, env } = project(t, { 'tree.json': JSON.stringify(tree) });
  await runApflow(['run', 'tree.json'], { cwd: dir, env });
  const watch = await runApflow(['tasks', 'watch', 'root', '--interval', '0.1'], { cwd: dir, env });
  assert.equal(watch.code, 0, watch.stderr);
  assert.match(watch.stdout, /Aggregate \(root\)\s+completed 100%/);
  const bad = await runApflow(['tasks', 'explode'], { cwd: dir, env });
  assert.equal(bad.code, 1);
  assert.equal(
    bad.stderr,
    "apflow: unknown action 'tasks explode' (use one of: list, get, tree, status, cancel, watch) (APF_INVALID_PARAMS)\n",
  );
  const noId = await runApflow(['tasks', 'get'], { cwd: dir, env });
  assert.match(noId.stderr, /'tasks get' needs at least one task id/);
});

test('--workers with an in-memory database is refused: each worker would get its own', async (t) => {
  const { dir } = project(t);
  const out = await runApflow(['serve', '--workers', '2'], {
    cwd: dir,
    env: { APFLOW_DATABASE_URL: 'sqlite::memory:' },
  });
  assert.equal(out.code, 1);
  assert.equal(
    out.stderr,
    'apflow: sqlite::memory: cannot be shared by several workers: use a database file or PostgreSQL\n',
  );
});
