import assert from 'node:assert/strict';
import { test } from 'node:test';
import { beginRuns } from '../../../kernel/engine/begin-runs.ts';
import { cancelTasks } from '../../../kernel/engine/cancel-tasks.ts';
import { engineParts, type Parts, type TaskSpec } from './parts.ts';

const future = () => new Date(Date.now() + 60_000).toISOString();
const begin = (parts: Parts, taskId: string) => parts.transact((tx) => beginRuns(tx, [{ taskId, pinnedTo: null }]));

/** Cancels in one transaction; answers what cancelTasks returned and what the transaction noted for others. */
const cancel = (parts: Parts, ids: string[], message = 'stop it') =>
  parts.transact(async (tx) => {
    const { results, abortHere } = await cancelTasks(tx, ids, message);
    return { results, abortHere, notes: { wake: tx.notes.wake, cancelled: [...tx.notes.cancelled] } };
  });

const statuses = async (parts: Parts, rootId: string) =>
  Object.fromEntries((await parts.repo.tree(rootId)).map((row) => [row.id, row.status]));

/** r: a (with child a1), b (needs a). */
const tree: TaskSpec[] = [
  { id: 'r' },
  { id: 'a', parent_id: 'r' },
  { id: 'a1', parent_id: 'a' },
  { id: 'b', parent_id: 'r', dependencies: ['a'] },
];

test('cancels a task and its unfinished descendants, with an event each', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(tree);
  await begin(parts, 'r');
  const { results } = await cancel(parts, ['a']);
  assert.deepEqual(results, [{ task_id: 'a', status: 'cancelled', message: 'stop it' }]);
  const [a, a1] = [await parts.row('a'), await parts.row('a1')];
  for (const row of [a, a1]) {
    assert.deepEqual([row.status, row.error, row.ready_at, row.lease_owner], ['cancelled', 'stop it', null, null]);
    assert.ok(row.completed_at);
  }
  assert.deepEqual((await parts.eventLog('r')).slice(1, 3).sort(), ['task_cancelled:a', 'task_cancelled:a1']);
});

test('carries a cancel through the run: dependents fail, and the parent becomes ready', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(tree);
  await begin(parts, 'r');
  const { notes } = await cancel(parts, ['a']);
  assert.deepEqual(await statuses(parts, 'r'), { r: 'pending', a: 'cancelled', a1: 'cancelled', b: 'failed' });
  assert.equal((await parts.row('b')).error, 'dependency a was cancelled');
  assert.ok((await parts.row('r')).ready_at);
  assert.equal(notes.wake, true, 'other engines hear that a task became ready');
});

test('cancelling the root ends the run with its final event', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(tree);
  await begin(parts, 'r');
  await cancel(parts, ['r']);
  assert.deepEqual(await statuses(parts, 'r'), { r: 'cancelled', a: 'cancelled', a1: 'cancelled', b: 'cancelled' });
  const events = await parts.events('r');
  assert.equal(events.at(-1)?.type, 'final');
  assert.equal(events.at(-1)?.counts?.cancelled, 4);
  assert.equal((await parts.row('r')).run_state, null);
});

test('a task running here is returned to abort; one running elsewhere is noted for its engine', async (t) => {
  const parts = await engineParts(t);
  await parts.insert([{ id: 'r' }, { id: 'here', parent_id: 'r' }, { id: 'there', parent_id: 'r' }]);
  await begin(parts, 'r');
  const running = { status: 'in_progress' as const, ready_at: null, lease_expires_at: future() };
  await parts.set('here', { ...running, lease_owner: parts.owner });
  await parts.set('there', { ...running, lease_owner: 'elsewhere/1/x' });
  const { abortHere, notes } = await cancel(parts, ['r']);
  assert.deepEqual(abortHere, ['here']);
  assert.deepEqual(notes.cancelled, ['there']);
  assert.equal((await parts.row('there')).lease_owner, null);
});

test('answers for a task that is not stored, and changes nothing', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(tree);
  const { results } = await cancel(parts, ['nope']);
  assert.deepEqual(results, [
    { task_id: 'nope', status: 'failed', message: 'Task nope not found', error: 'Task not found' },
  ]);
  assert.deepEqual(await statuses(parts, 'r'), { r: 'pending', a: 'pending', a1: 'pending', b: 'pending' });
});

test('refuses a task that already ended, and leaves it as it is', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(tree);
  await parts.set('a1', { status: 'completed', result: 'kept' });
  const { results } = await cancel(parts, ['a1']);
  assert.deepEqual(results, [
    {
      task_id: 'a1',
      status: 'failed',
      message: 'Task a1 is already completed, cannot cancel',
      current_status: 'completed',
    },
  ]);
  assert.equal((await parts.row('a1')).result, 'kept');
  assert.deepEqual(await parts.eventLog('r'), []);
});

test('cancels a tree that is not running: its pending tasks, no run to carry on', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(tree);
  const { results } = await cancel(parts, ['a']);
  assert.equal(results[0]?.status, 'cancelled');
  assert.deepEqual(await statuses(parts, 'r'), { r: 'pending', a: 'cancelled', a1: 'cancelled', b: 'pending' });
});
