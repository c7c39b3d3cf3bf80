import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runApflow, tempProject } from '../helpers.ts';
import { call, failing, project, sameBothWays, sampleTree } from './cli-tasks-setup.ts';

test('tasks get/tree/children/status/count/list print the same locally and with --server; others see only their own', async (t) => {
  const p = await project(t, { 'tree.json': JSON.stringify(sampleTree('b-')) });
  const created = await p.cli(['tasks', 'create', '-f', 'tree.json', '-u', 'bob']);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(JSON.parse(created.stdout).user_id, 'bob');
  const alices = await p.cli(['tasks', 'create', '--stdin'], {
    as: 'alice',
    input: JSON.stringify({ tasks: sampleTree('a-') }),
  });
  assert.equal(alices.code, 0, alices.stderr);
  assert.equal(JSON.parse(alices.stdout).user_id, 'alice', 'a remote user creates their own tasks');
  const run = (await call(p, 'admin', 'tasks.execute', { task_id: 'b-root' })) as { status: string };
  assert.equal(run.status, 'completed');

  const get = (await sameBothWays(p, ['tasks', 'get', 'b-root'])) as Record<string, unknown>;
  assert.equal(get.status, 'completed');
  assert.deepEqual(get.counts, {
    pending: 0,
    in_progress: 0,
    input_required: 0,
    completed: 3,
    failed: 0,
    cancelled: 0,
    total: 3,
  });
  const tree = (await sameBothWays(p, ['tasks', 'tree', 'b-nap'])) as { id: string; children: { id: string }[] };
  assert.equal(tree.id, 'b-root');
  assert.deepEqual(tree.children.map((child) => child.id).sort(), ['b-echo', 'b-nap']);
  const children = (await sameBothWays(p, ['tasks', 'children', '-p', 'b-root'])) as { id: string }[];
  assert.deepEqual(
    children.map((child) => child.id),
    ['b-echo', 'b-nap'],
    'by priority',
  );
  assert.deepEqual(JSON.parse((await p.cli(['tasks', 'children', '--task-id', 'b-root'])).stdout), children);
  const status = (await sameBothWays(p, ['tasks', 'status', 'b-echo', 'ghost'])) as Record<string, unknown>[];
  assert.equal(status[0]?.status, 'completed');
  assert.equal(status[0]?.is_running, false);
  assert.deepEqual(status[1], { task_id: 'ghost', context_id: 'ghost', status: 'not_found' });
  const count = await sameBothWays(p, ['tasks', 'count']);
  assert.deepEqual(count, {
    total: 6,
    pending: 3,
    in_progress: 0,
    input_required: 0,
    completed: 3,
    failed: 0,
    cancelled: 0,
  });
  assert.equal(JSON.parse((await p.cli(['tasks', 'count', '-r', '-u', 'bob'])).stdout).total, 1);
  const roots = (await sameBothWays(p, ['tasks', 'list'])) as { id: string }[];
  assert.deepEqual(roots.map((task) => task.id).sort(), ['a-root', 'b-root'], 'roots only by default');
  const done = (await sameBothWays(p, ['tasks', 'list', '--all-tasks', '-s', 'completed'])) as unknown[];
  assert.equal(done.length, 3);
  const page = await p.cli(['tasks', 'list', '--all', '--status', 'completed', '-l', '2', '-o', '1'], { as: 'admin' });
  assert.deepEqual(JSON.parse(page.stdout), [done[1], done[2]]);

  // alice, remotely: her own tasks only; bob's are unknown to her.
  const asAlice = (args: string[]) => p.cli(args, { as: 'alice' });
  const [aliceCount, aliceList, aliceStatus] = await Promise.all([
    asAlice(['tasks', 'count']),
    asAlice(['tasks', 'list', '--all-tasks']),
    asAlice(['tasks', 'status', 'b-root', 'a-root']),
  ]);
  assert.equal(JSON.parse(aliceCount.stdout).total, 3);
  assert.equal(JSON.parse(aliceCount.stdout).user_id, 'alice');
  assert.deepEqual(
    JSON.parse(aliceList.stdout).map((task: { user_id: string }) => task.user_id),
    ['alice', 'alice', 'alice'],
  );
  assert.deepEqual(
    JSON.parse(aliceStatus.stdout).map((entry: { status: string }) => entry.status),
    ['not_found', 'pending'],
  );
  assert.equal(
    await failing(p, ['tasks', 'get', 'b-root'], { as: 'alice' }),
    'apflow: Task b-root not found (APF_NOT_FOUND)\n',
  );
});

test('tasks: help, unknown actions and flags, missing ids, count --format', async (t) => {
  const dir = tempProject(t);
  const env = { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' };
  const apflow = (args: string[]) => runApflow(args, { cwd: dir, env });
  const [help, countHelp, shortHelp, bad, badFlag, noId, format, table, json, children, watch, interval] =
    await Promise.all([
      apflow(['tasks', '--help']),
      apflow(['tasks', 'count', '--help']),
      apflow(['tasks', 'list', '-h']),
      apflow(['tasks', 'explode']),
      apflow(['tasks', 'list', '--bogus']),
      apflow(['tasks', 'get']),
      apflow(['tasks', 'count', '--format', 'xml']),
      apflow(['tasks', 'count', '-f', 'table']),
      apflow(['tasks', 'count', '--format', 'json', '--root-only']),
      apflow(['tasks', 'children', '-p', 'a', '-t', 'b']),
      apflow(['tasks', 'watch', 'a', '--all']),
      apflow(['tasks', 'watch', 'a', '-i', '0']),
    ]);
  assert.equal(help.code, 0);
  for (const action of ['list', 'get', 'tree', 'children', 'status', 'count', 'create', 'update', 'delete', 'copy'])
    assert.match(help.stdout, new RegExp(`\\n  ${action} `));
  assert.match(help.stdout, /\n  watch \[id\]/);
  assert.match(countHelp.stdout, /Usage: apflow tasks count \[options\]/);
  assert.match(countHelp.stdout, /-f, --format <table\|json>/);
  assert.match(countHelp.stdout, /--server <url>/);
  assert.equal(shortHelp.code, 0, shortHelp.stderr);
  assert.match(shortHelp.stdout, /Usage: apflow tasks list \[options\]/, '-h is --help');
  assert.equal(bad.code, 1);
  assert.equal(
    bad.stderr,
    "apflow: unknown action 'tasks explode' (use one of: list, get, tree, children, status, count, create, update, delete, copy, cancel, resume, watch) (APF_INVALID_PARAMS)\n",
  );
  assert.match(badFlag.stderr, /^apflow: tasks list: Unknown option '--bogus' \(see 'apflow tasks list --help'\)/);
  assert.match(noId.stderr, /^apflow: 'tasks get' takes <id>: usage 'apflow tasks get <id> \[options\]'/);
  assert.match(format.stderr, /^apflow: --format must be table or json, not 'xml'/);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^STATUS\s+COUNT\npending\s+0\n[\s\S]*\ntotal\s+0\n$/, 'a table when asked, even piped');
  assert.deepEqual(JSON.parse(json.stdout), {
    total: 0,
    pending: 0,
    in_progress: 0,
    input_required: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
  });
  assert.match(children.stderr, /takes one parent task/);
  assert.match(watch.stderr, /^apflow: 'tasks watch' takes one task id \(ID or -t ID\), or --all/);
  assert.match(interval.stderr, /^apflow: --interval must be above 0/);
});

test('--workers with an in-memory database is refused: each worker would get its own', async (t) => {
  const dir = tempProject(t);
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
