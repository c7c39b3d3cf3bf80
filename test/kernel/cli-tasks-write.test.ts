import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { apflowBin, runApflow, tempProject } from '../helpers.ts';
import { bothWays, failing, project, sampleTree } from './cli-tasks-setup.ts';

test('tasks create reads a file, stdin, one task or {"tasks": [...]}; what is wrong with the input is named', async (t) => {
  const p = await project(t, {
    'one.json': JSON.stringify({ id: 'solo', name: 'Solo', schemas: { method: 'echo' } }),
    'list.json': '[1, 2]',
    'empty.json': '[]',
    'bad.json': '{"tasks": [',
    'cycle.json': JSON.stringify([{ id: 'a', name: 'a', dependencies: ['a'] }]),
    'tree.json': JSON.stringify(sampleTree('t-')),
  });
  const [one, piped, remote] = await Promise.all([
    p.cli(['tasks', 'create', '-f', 'one.json']),
    p.cli(['tasks', 'create', '-f', '-', '--user-id', 'carol'], { input: JSON.stringify(sampleTree('s-')) }),
    p.cli(['tasks', 'create', '--file', 'tree.json'], { as: 'alice' }),
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(JSON.parse(one.stdout).id, 'solo');
  assert.equal(JSON.parse(one.stdout).user_id, null, 'locally a tree belongs to nobody unless -u names someone');
  const tree = JSON.parse(piped.stdout);
  assert.equal(tree.user_id, 'carol');
  assert.deepEqual(tree.children.map((child: { id: string; user_id: string }) => [child.id, child.user_id]).sort(), [
    ['s-echo', 'carol'],
    ['s-nap', 'carol'],
  ]);
  assert.equal(remote.code, 0, remote.stderr);
  assert.equal(JSON.parse(remote.stdout).user_id, 'alice');

  const errors = await Promise.all([
    failing(p, ['tasks', 'create', '-f', 'missing.json']),
    failing(p, ['tasks', 'create', '--stdin'], { input: '{nope' }),
    failing(p, ['tasks', 'create', '--stdin']),
    failing(p, ['tasks', 'create', '-f', 'bad.json', '--stdin']),
    failing(p, ['tasks', 'create', '-f', 'list.json']),
    failing(p, ['tasks', 'create', '-f', 'empty.json']),
    failing(p, ['tasks', 'create', '-f', 'bad.json']),
  ]);
  assert.match(errors[0], /^apflow: cannot read missing\.json: ENOENT.* \(APF_INVALID_PARAMS\)\n$/);
  assert.match(errors[1], /^apflow: standard input is not valid JSON: .* \(APF_PARSE_ERROR\)\n$/);
  assert.equal(errors[2], 'apflow: standard input is empty: expected JSON (APF_PARSE_ERROR)\n');
  assert.match(errors[3], /reads one source: -f\/--file PATH or --stdin/);
  assert.match(errors[4], /list\.json: task 0 is not a JSON object \(1\)/);
  assert.match(errors[5], /empty\.json holds no tasks/);
  assert.match(errors[6], /^apflow: bad\.json is not valid JSON/);
  const [cycleHere, cycleThere] = await bothWays(p, ['tasks', 'create', '-f', 'cycle.json'], 'alice');
  assert.equal(cycleHere.code, 1);
  assert.match(cycleHere.stderr, /Circular dependency detected: a -> a/);
  assert.equal(cycleThere.stderr, cycleHere.stderr, 'the server says the same');
  assert.match(
    await failing(p, ['tasks', 'create', '-f', 'one.json', '-u', 'bob'], { as: 'alice' }),
    /Permission denied/,
  );
});

test('tasks update/delete/copy locally and with --server: the same answers; someone else cannot touch them', async (t) => {
  const p = await project(t, {
    'u.json': JSON.stringify(sampleTree('u-')),
    'v.json': JSON.stringify(sampleTree('v-')),
    'w.json': JSON.stringify(sampleTree('w-')),
  });
  const made = await Promise.all(
    ['u', 'v', 'w'].map((name) => p.cli(['tasks', 'create', '-f', `${name}.json`, '-u', 'alice'])),
  );
  for (const out of made) assert.equal(out.code, 0, out.stderr);

  const changes = ['--name', 'Renamed', '--priority', '3', '--progress', '0.5', '--error', 'oops'];
  const json = [
    '--inputs',
    '{"say":"bye"}',
    '--result',
    '{"n":1}',
    '--params',
    '{"p":1}',
    '--schemas',
    '{"method":"echo"}',
  ];
  const updated = await p.cli(['tasks', 'update', 'u-echo', ...changes, ...json]);
  assert.equal(updated.code, 0, updated.stderr);
  const task = JSON.parse(updated.stdout);
  assert.deepEqual(
    [task.name, task.priority, task.progress, task.error, task.inputs, task.result, task.params, task.schemas],
    ['Renamed', 3, 0.5, 'oops', { say: 'bye' }, { n: 1 }, { p: 1 }, { method: 'echo' }],
  );
  const [readBack, remoteUpdate] = await Promise.all([
    p.cli(['tasks', 'get', 'u-echo'], { as: 'alice' }),
    p.cli(['tasks', 'update', 'u-nap', '--status', 'completed'], { as: 'alice' }),
  ]);
  assert.equal(readBack.stdout, updated.stdout, 'the server reads back what the local update printed');
  assert.equal(JSON.parse(remoteUpdate.stdout).status, 'completed');
  const refusals = await Promise.all([
    failing(p, ['tasks', 'update', 'u-echo']),
    failing(p, ['tasks', 'update', 'u-echo', '--progress', 'half']),
    failing(p, ['tasks', 'update', 'u-echo', '--result', '{bad']),
    failing(p, ['tasks', 'update', 'u-echo', '--status', 'asleep'], { as: 'alice' }),
    failing(p, ['tasks', 'update', 'u-echo', '--name', 'Mine'], { as: 'bob' }),
  ]);
  assert.match(refusals[0], /^apflow: nothing to update: give at least one of --name, --status, --progress/);
  assert.match(refusals[1], /^apflow: --progress must be a number, not 'half'/);
  assert.match(refusals[2], /^apflow: --result is not valid JSON/);
  assert.match(refusals[3], /^apflow: Update failed:\n- Cannot update 'status': must be one of pending/);
  assert.match(refusals[4], /^apflow: Task u-echo not found/);

  // Deleting a finished task is refused the same way here and there; a pending tree goes whole.
  const [busyHere, busyThere] = await bothWays(p, ['tasks', 'delete', 'u-nap', '--force'], 'alice');
  assert.equal(busyHere.code, 1);
  assert.match(busyHere.stderr, /Cannot delete task: task status is 'completed' \(must be 'pending'\)/);
  assert.equal(busyThere.stderr, busyHere.stderr);
  assert.match(await failing(p, ['tasks', 'delete', 'v-root'], { as: 'bob' }), /Task v-root not found/);
  const [deletedHere, deletedThere] = await Promise.all([
    p.cli(['tasks', 'delete', 'v-root']),
    p.cli(['tasks', 'delete', 'w-root', '--force'], { as: 'alice' }),
  ]);
  assert.equal(deletedHere.code, 0, deletedHere.stderr);
  assert.deepEqual(JSON.parse(deletedHere.stdout), {
    success: true,
    task_id: 'v-root',
    deleted_count: 3,
    children_deleted: 2,
  });
  assert.equal(deletedThere.stdout, deletedHere.stdout.replace('v-root', 'w-root'));

  // Copies: a dry run saves nothing and prints the tasks it would create; -o writes the copy to a file.
  const [dryHere, dryThere] = await bothWays(p, ['tasks', 'copy', 'u-root', '--dry-run'], 'alice');
  const plans = [dryHere, dryThere].map((out) => JSON.parse(out.stdout) as Record<string, unknown>[]);
  for (const plan of plans) {
    assert.deepEqual(plan.map((one) => one.original_task_id).sort(), ['u-echo', 'u-nap', 'u-root']);
    assert.ok(plan.every((one) => typeof one.id === 'string' && !String(one.id).startsWith('u-')));
  }
  assert.deepEqual(
    plans[0]?.map((one) => one.name),
    plans[1]?.map((one) => one.name),
  );
  assert.equal(JSON.parse((await p.cli(['tasks', 'get', 'u-root'])).stdout).has_copy, false, 'nothing saved');
  const [toFile, custom, noIds] = await Promise.all([
    p.cli(['tasks', 'copy', 'u-root', '-o', 'copy.json', '--reset-fields', 'status,progress'], { as: 'alice' }),
    p.cli(['tasks', 'copy', 'u-root', '--copy-mode', 'custom', '--custom-task-ids', 'u-echo,u-nap']),
    p.cli(['tasks', 'copy', 'u-root', '--copy-mode', 'custom'], { as: 'alice' }),
  ]);
  assert.equal(toFile.code, 0, toFile.stderr);
  assert.equal(toFile.stdout, '', 'the JSON went to the file');
  const copied = JSON.parse(readFileSync(join(p.dir, 'copy.json'), 'utf8'));
  assert.equal(copied.original_task_id, 'u-root');
  assert.equal(copied.user_id, 'alice');
  assert.equal(custom.code, 0, custom.stderr);
  assert.ok(JSON.parse(custom.stdout).id);
  assert.equal(noIds.code, 1);
  assert.match(noIds.stderr, /custom_task_ids is required when copy_mode='custom'/);
});

// `script` (util-linux) gives the command a terminal, as a person at a shell has.
const hasScript = spawnSync('script', ['--version']).status === 0;

test(
  'on a terminal, tasks delete asks first (no: nothing deleted, exit 1) and tasks list prints a table',
  { skip: !hasScript && 'no script command' },
  async (t) => {
    const dir = tempProject(t, { 'tree.json': JSON.stringify(sampleTree('d-')) });
    const env = { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' };
    assert.equal((await runApflow(['tasks', 'create', '-f', 'tree.json'], { cwd: dir, env })).code, 0);
    const onTerminal = (args: string[], answer: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const command = [process.execPath, apflowBin, ...args].map((word) => JSON.stringify(word)).join(' ');
        const child = spawn('script', ['-qec', command, '/dev/null'], {
          cwd: dir,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
        });
        let out = '';
        child.stdout.on('data', (chunk) => (out += chunk));
        child.once('close', (code) => resolve({ code, out }));
        child.stdin.end(answer);
      });
    const no = await onTerminal(['tasks', 'delete', 'd-root'], 'n\n');
    assert.equal(no.code, 1);
    assert.match(no.out, /Delete task d-root and its subtasks\? \[y\/N\]/);
    assert.match(no.out, /Task d-root not deleted/);
    const table = await onTerminal(['tasks', 'list'], '');
    assert.match(table.out, /ID +STATUS +PROGRESS +USER +NAME +CREATED\r?\nd-root +pending +0% +d-Root +\S+Z/);
    const yes = await onTerminal(['tasks', 'delete', 'd-root'], 'y\n');
    assert.equal(yes.code, 0, yes.out);
    assert.match(yes.out, /"deleted_count": 3/);
  },
);
