import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, processGone } from '../helpers.ts';
import { call, runProject, type Project } from './cli-run-setup.ts';

const taskOf = (project: Project, id: string) =>
  call(project, 'tasks.get', { task_id: id }) as Promise<Record<string, unknown>>;

test('run flow --background starts the run and returns: on a server it runs there, here in a process of its own', async (t) => {
  const project = await runProject(t);
  const args = ['run', 'flow', 'sleep', '--inputs', '{"ms": 200}', '--background'];
  const [local, remote] = await Promise.all([project.cli(args), project.cli(args, { as: 'alice' })]);
  assert.equal(local.code, 0, local.stderr);
  assert.equal(remote.code, 0, remote.stderr);
  const here = JSON.parse(local.stdout) as { root_task_id: string; status: string; pid: number; log: string };
  const there = JSON.parse(remote.stdout) as Record<string, unknown>;
  assert.equal(here.status, 'started');
  assert.equal(here.log, join(project.dir, '.data', `run-${here.root_task_id}.log`));
  assert.deepEqual(Object.keys(there).sort(), ['message', 'root_task_id', 'status']);
  assert.equal(there.status, 'started');
  for (const id of [here.root_task_id, there.root_task_id as string]) {
    const task = await eventually(async () => {
      const found = await taskOf(project, id);
      return found.status === 'completed' && found;
    }, 60_000);
    assert.deepEqual(task.result, { slept: 200, task: id });
  }
  await eventually(() => processGone(here.pid), 30_000);
  const log = readFileSync(here.log, 'utf8');
  assert.equal((JSON.parse(log) as { status: string }).status, 'completed', 'the log holds the outcome');
});

test('run flow --task-id runs a stored tree; apflow run FILE [options] is run flow --tasks-file FILE', async (t) => {
  const project = await runProject(t);
  await call(project, 'tasks.create', [
    { id: 'stored', name: 'Stored', schemas: { method: 'echo' }, inputs: { x: 1 } },
  ]);
  await call(project, 'tasks.create', [{ id: 'kept', name: 'Kept', schemas: { method: 'echo' }, inputs: { y: 2 } }]);
  writeFileSync(
    join(project.dir, 'tree.json'),
    JSON.stringify([{ id: 'filed', name: 'Filed', schemas: { method: 'echo' }, inputs: { z: 3 } }]),
  );
  const [local, remote, file] = await Promise.all([
    project.cli(['run', 'flow', '--task-id', 'stored']),
    project.cli(['run', 'flow', '--task-id', 'kept'], { as: 'admin' }),
    project.cli(['run', 'tree.json', '-u', 'carol']),
  ]);
  for (const run of [local, remote, file]) assert.equal(run.code, 0, run.stderr);
  const results = [local, remote, file].map((run) => (JSON.parse(run.stdout) as { result: unknown }).result);
  assert.deepEqual(results, [{ x: 1 }, { y: 2 }, { z: 3 }]);
  assert.equal((await taskOf(project, 'filed')).user_id, 'carol');
});
