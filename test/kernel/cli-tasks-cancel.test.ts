import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, spawnApflow } from '../helpers.ts';
import { bothWays, call, project, sameBothWays } from './cli-tasks-setup.ts';

const long = (id: string, name: string) => [{ id, name, schemas: { method: 'sleep' }, inputs: { ms: 600_000 } }];

test(
  'tasks cancel stops running trees, with --server and here; tasks watch prints their states until they end',
  { timeout: 240_000 },
  async (t) => {
    const p = await project(t, { 'two.json': JSON.stringify(long('two', 'Run two')) });
    const made = await Promise.all([
      p.cli(['tasks', 'create', '--stdin'], { as: 'alice', input: JSON.stringify(long('one', 'Run one')) }),
      p.cli(['tasks', 'create', '-f', 'two.json']),
    ]);
    for (const out of made) assert.equal(out.code, 0, out.stderr);
    // Both run on the server; one is cancelled through it, the other from here (through the database).
    const runOne = call(p, 'alice', 'tasks.execute', { task_id: 'one' });
    const runTwo = call(p, 'admin', 'tasks.execute', { task_id: 'two' });
    await eventually(async () => {
      const states = (await call(p, 'admin', 'tasks.running.status', { task_ids: ['one', 'two'] })) as {
        status: string;
      }[];
      return states.every((state) => state.status === 'in_progress');
    }, 60_000);
    const watchAll = spawnApflow(['tasks', 'watch', '--all', '-i', '0.2'], { cwd: p.dir, env: p.env });
    t.after(() => watchAll.child.kill('SIGKILL'));
    const watchOne = p.cli(['tasks', 'watch', '-t', 'one', '--interval', '0.2'], { as: 'alice' });
    await eventually(
      () => /\(one\) {2}in_progress/.test(watchAll.stdout()) && /\(two\) {2}in_progress/.test(watchAll.stdout()),
      60_000,
    );

    const [one, two] = await Promise.all([
      p.cli(['tasks', 'cancel', 'one', '--message', 'stop now'], { as: 'alice' }),
      p.cli(['tasks', 'cancel', 'two', '-f']),
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout), [
      { task_id: 'one', status: 'cancelled', message: 'stop now', force: false },
    ]);
    assert.equal(two.code, 0, two.stderr);
    assert.deepEqual(JSON.parse(two.stdout), [
      { task_id: 'two', status: 'cancelled', message: 'Force cancelled by user', force: true },
    ]);
    assert.equal(((await runOne) as { status: string }).status, 'cancelled');
    assert.equal(((await runTwo) as { status: string }).status, 'cancelled', 'the server heard of a cancel made here');

    const watched = await watchOne;
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout, /Z {2}Run one \(one\) {2}in_progress \d+%\n/);
    assert.match(watched.stdout, /Z {2}Run one \(one\) {2}cancelled \d+% stop now\n$/, 'it ends when the tree is done');
    await eventually(
      () => /\(one\) {2}cancelled/.test(watchAll.stdout()) && /\(two\) {2}cancelled/.test(watchAll.stdout()),
      60_000,
    );
    watchAll.child.kill('SIGINT');
    assert.equal(await watchAll.exited, 0, `watch --all ends on Ctrl-C: ${watchAll.stderr()}`);

    // What cannot be cancelled is said the same way here and there, with exit code 1.
    const [again, againThere] = await bothWays(p, ['tasks', 'cancel', 'one', 'ghost']);
    assert.equal(again.code, 1);
    assert.equal(againThere.code, 1);
    assert.equal(againThere.stdout, again.stdout);
    assert.deepEqual(
      JSON.parse(again.stdout).map((result: { status: string; message: string }) => [result.status, result.message]),
      [
        ['failed', 'Task one is already cancelled, cannot cancel'],
        ['failed', 'Task ghost not found'],
      ],
    );
    const [state] = (await sameBothWays(p, ['tasks', 'status', 'one'])) as Record<string, unknown>[];
    assert.deepEqual([state?.status, state?.error, state?.is_running], ['cancelled', 'stop now', false]);
    const ended = await p.cli(['tasks', 'watch', 'two']);
    assert.equal(ended.code, 0, ended.stderr);
    assert.match(
      ended.stdout,
      /^\S+Z {2}Run two \(two\) {2}cancelled \d+% Force cancelled by user\n$/,
      'a done tree: one look',
    );
  },
);
