import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { call, runProject, withoutIds } from './cli-run-setup.ts';

test('run flow EXECUTOR_ID --inputs builds the one task the original built and answers the same locally and on a server', async (t) => {
  const project = await runProject(t);
  const args = ['run', 'flow', 'echo', '--inputs', '{"a": 1}'];
  const [local, remote, owned, empty, demo] = await Promise.all([
    project.cli(args),
    project.cli(args, { as: 'alice' }),
    project.cli(['run', 'flow', 'echo', '-i', '{"b": 2}', '-u', 'bob']),
    project.cli(['run', 'flow', 'echo']),
    project.cli(['run', 'flow', 'echo', '--use-demo'], { as: 'alice' }),
  ]);
  assert.equal((JSON.parse(demo.stdout) as { result: { demo_mode: boolean } }).result.demo_mode, true, '--use-demo');
  for (const run of [local, remote, owned, empty]) assert.equal(run.code, 0, run.stderr);
  assert.equal(local.stderr, '', 'no live view when stderr is not a terminal');
  const answer = JSON.parse(local.stdout) as { root_task_id: string; status: string; result: unknown };
  assert.deepEqual(withoutIds(JSON.parse(remote.stdout)), withoutIds(answer));
  assert.deepEqual(withoutIds(answer), {
    success: true,
    protocol: 'jsonrpc',
    root_task_id: '<id>',
    task_id: '<id>',
    status: 'completed',
    progress: 1,
    result: { a: 1 },
    message: 'Task execution completed',
  });
  const task = (id: string) => call(project, 'tasks.get', { task_id: id }) as Promise<Record<string, unknown>>;
  const [here, there, bobs, none] = await Promise.all(
    [local, remote, owned, empty].map((run) => task((JSON.parse(run.stdout) as { root_task_id: string }).root_task_id)),
  );
  assert.deepEqual(
    [here?.name, here?.schemas, here?.inputs, here?.user_id],
    ['Execute echo', { method: 'echo' }, { a: 1 }, null],
  );
  assert.equal(there?.user_id, 'alice', 'remotely the tree is the caller’s');
  assert.deepEqual([bobs?.user_id, bobs?.inputs], ['bob', { b: 2 }]);
  assert.deepEqual(none?.inputs, {}, 'EXECUTOR_ID alone: empty inputs');
});

test('run flow --tasks runs each root group as a tree of its own, in order; -o writes the answers to a file', async (t) => {
  const project = await runProject(t);
  const tasks = (prefix: string) =>
    JSON.stringify({
      tasks: [
        { id: `${prefix}one`, name: 'One', schemas: { method: 'echo' }, inputs: { n: 1 } },
        { id: `${prefix}two`, name: 'Two', schemas: { method: 'fail' }, inputs: { message: 'no luck' } },
        { id: `${prefix}kid`, name: 'Kid', parent_id: `${prefix}one`, schemas: { method: 'echo' } },
      ],
    });
  const [local, remote] = await Promise.all([
    project.cli(['run', 'flow', '-t', tasks('l-'), '-o', 'local.json']),
    project.cli(['run', 'flow', '--tasks', tasks('r-'), '--output', 'remote.json'], { as: 'admin' }),
  ]);
  for (const run of [local, remote]) {
    assert.equal(run.code, 1, 'a group failed: exit 1');
    assert.equal(run.stdout, '', 'the JSON went to the file');
  }
  assert.equal(local.stderr, 'wrote the outcome to local.json\n');
  const read = (name: string) => JSON.parse(readFileSync(join(project.dir, name), 'utf8')) as Record<string, unknown>[];
  const [mine, theirs] = [read('local.json'), read('remote.json')];
  assert.deepEqual(
    mine.map((answer) => [answer.root_task_id, answer.status, answer.error ?? null]),
    [
      ['l-one', 'completed', null],
      ['l-two', 'failed', 'no luck'],
    ],
  );
  assert.deepEqual(JSON.parse(JSON.stringify(theirs).replaceAll('r-', 'l-')), mine, 'the same both ways');
  const kid = (await call(project, 'tasks.get', { task_id: 'l-kid' })) as { status: string; parent_id: string };
  assert.deepEqual([kid.status, kid.parent_id], ['completed', 'l-one'], 'a child runs in its root’s group');
});

test('run flow refuses what cannot go together (the same error on a server)', async (t) => {
  const project = await runProject(t);
  const cases: [string[], RegExp][] = [
    [['run', 'flow', 'echo', '--tasks', '[]'], /EXECUTOR_ID \('echo'\) and --tasks\/--tasks-file cannot go together/],
    [['run', 'flow'], /run flow needs what to run: EXECUTOR_ID/],
    [['run', 'flow', '--inputs', '{}'], /--inputs\/--inputs-file need EXECUTOR_ID/],
    [['run', 'flow', 'echo', '--inputs', '[1]'], /the inputs must be a JSON object/],
    [['run', 'flow', '-t', '{nope'], /--tasks is not valid JSON/],
    [['run', 'flow', '--task-id', 'x', 'echo'], /--task-id runs a stored tree: it takes no EXECUTOR_ID/],
    [['run', 'flow', '-b', '-w', 'echo'], /--watch and --background cannot go together/],
  ];
  const ghost = ['run', 'flow', '--task-id', 'ghost'];
  const [local, remote, ...runs] = await Promise.all([
    project.cli(ghost),
    project.cli(ghost, { as: 'alice' }),
    ...cases.map(([args]) => project.cli(args)),
  ]);
  assert.equal(local?.stderr, 'apflow: Task ghost not found (APF_NOT_FOUND)\n');
  assert.equal(remote?.stderr, local?.stderr, 'the same error both ways');
  cases.forEach(([args, expected], index) => {
    assert.equal(runs[index]?.code, 1, args.join(' '));
    assert.match(runs[index]?.stderr ?? '', expected);
  });
});
