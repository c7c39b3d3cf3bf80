import assert from 'node:assert/strict';
import { test } from 'node:test';
import { followOnsAfter } from '../../../kernel/engine/follow-ons.ts';
import type { TaskRow } from '../../../kernel/tasks/task-record.ts';
import { runInMemory, type TaskSpec } from './parts.ts';

const claim = {
  lease_owner: 'engine-a',
  lease_expires_at: '2030-01-01T00:00:30.000Z',
  started_at: '2030-01-01T00:00:00.000Z',
};

/** A run of `tasks` in memory with these rows changed. */
function run(tasks: TaskSpec[], changes: Record<string, Partial<TaskRow>> = {}) {
  const made = runInMemory(tasks);
  for (const [id, change] of Object.entries(changes)) Object.assign(made.rows.get(id) ?? {}, change);
  return made;
}

const offered = (made: ReturnType<typeof run>, doneId: string) =>
  followOnsAfter(made, doneId, claim).map((followOn) => [followOn.row.id, followOn.gates]);

const family: TaskSpec[] = [{ id: 'r' }, { id: 'a', parent_id: 'r' }, { id: 'b', parent_id: 'r' }];
const done = { status: 'completed' as const, result: 'ok' };

test('offers the parent once its last child in the run ended, claimed under the given lease', async () => {
  const made = run(family, { a: done, b: { status: 'failed', error: 'boom' }, r: { attempts: 2 } });
  const [followOn, ...more] = followOnsAfter(made, 'b', claim);
  assert.deepEqual(more, []);
  assert.deepEqual(followOn?.gates, ['a', 'b']);
  const row = followOn?.row;
  assert.deepEqual(
    [row?.id, row?.status, row?.attempts, row?.lease_owner, row?.lease_expires_at, row?.ready_at],
    ['r', 'in_progress', 3, claim.lease_owner, claim.lease_expires_at, null],
  );
  assert.deepEqual(
    [row?.started_at, row?.updated_at, row?.next_attempt_at],
    [claim.started_at, claim.started_at, null],
  );
});

test('does not offer the parent while one of its children is unfinished', async () => {
  assert.deepEqual(offered(run(family, { a: done, b: { status: 'in_progress' } }), 'a'), []);
});

test('offers a required dependent once its dependency completed, the result merged into its inputs', async () => {
  const made = run(
    [{ id: 'r' }, { id: 'a', parent_id: 'r' }, { id: 'b', parent_id: 'r', dependencies: ['a'], inputs: { own: 1 } }],
    { a: { status: 'completed', result: { n: 1 } } },
  );
  const [followOn, ...more] = followOnsAfter(made, 'a', claim);
  assert.deepEqual(more, [], 'r still waits for b');
  assert.deepEqual(followOn?.gates, ['a']);
  assert.deepEqual(followOn?.row.inputs, { own: 1, a: { n: 1 } });
});

const withOptional: TaskSpec[] = [
  { id: 'r' },
  { id: 'a', parent_id: 'r' },
  { id: 'x', parent_id: 'r' },
  { id: 'c', parent_id: 'r', dependencies: ['a', { id: 'x', required: false }] },
];

test('an optional dependency that ended without completing still lets the task go', async () => {
  assert.deepEqual(offered(run(withOptional, { a: done, x: { status: 'failed' } }), 'a'), [['c', ['a', 'x']]]);
});

test('an optional dependency that has not ended holds the task back', async () => {
  assert.deepEqual(offered(run(withOptional, { a: done, x: { status: 'in_progress' } }), 'a'), []);
});

test('a required dependency that failed holds the task back (the database fails it)', async () => {
  const made = run(
    [
      { id: 'r' },
      { id: 'a', parent_id: 'r' },
      { id: 'y', parent_id: 'r' },
      { id: 'c', parent_id: 'r', dependencies: ['a', 'y'] },
    ],
    { a: done, y: { status: 'failed' } },
  );
  assert.deepEqual(offered(made, 'a'), []);
});

test('a dependency outside the tree does not hold the task back', async () => {
  const made = run([{ id: 'r' }, { id: 'a', parent_id: 'r' }, { id: 'b', parent_id: 'r', dependencies: ['a'] }], {
    a: done,
  });
  const b = made.rows.get('b');
  b?.dependencies?.push({ id: 'elsewhere', required: true, type: 'result' });
  assert.deepEqual(offered(made, 'a'), [['b', ['a', 'elsewhere']]]);
});

test('a task waiting to be ready or for a retry is not offered', async () => {
  const later = '2030-01-01T00:01:00.000Z';
  assert.deepEqual(offered(run(family, { a: done, b: done, r: { ready_at: later } }), 'b'), []);
  assert.deepEqual(offered(run(family, { a: done, b: done, r: { next_attempt_at: later } }), 'b'), []);
});

test('a task that is not pending, or not in the run, is not offered', async () => {
  assert.deepEqual(offered(run(family, { a: done, b: done, r: { status: 'in_progress' } }), 'b'), []);
  const outside = run(family, { a: done, b: done });
  outside.shape.inRun.delete('r');
  assert.deepEqual(offered(outside, 'b'), []);
});

test('children outside the run do not hold their parent back, and are not its gates', async () => {
  const made = run(family, { a: done });
  made.shape.inRun.delete('b');
  assert.deepEqual(offered(made, 'a'), [['r', ['a']]]);
});

test('gates list the children in the run, then the dependencies', async () => {
  const made = run(
    [
      { id: 'r' },
      { id: 's', parent_id: 'r' },
      { id: 'p', parent_id: 'r', dependencies: ['s'] },
      { id: 'p1', parent_id: 'p' },
      { id: 'p2', parent_id: 'p' },
    ],
    { s: done, p1: done, p2: done },
  );
  assert.deepEqual(offered(made, 'p2'), [['p', ['p1', 'p2', 's']]]);
});

test('decides only: the rows it was given are left as they were', async () => {
  const made = run(family, { a: done, b: done });
  followOnsAfter(made, 'b', claim);
  const r = made.rows.get('r');
  assert.deepEqual([r?.status, r?.attempts, r?.lease_owner], ['pending', 0, null]);
});
