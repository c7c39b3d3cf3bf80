import assert from 'node:assert/strict';
import { test } from 'node:test';
import { beginRuns } from '../../../kernel/engine/begin-runs.ts';
import { settleRuns } from '../../../kernel/engine/settle-run.ts';
import type { TaskStatus } from '../../../kernel/tasks/task-record.ts';
import { engineParts, type Parts, type TaskSpec } from './parts.ts';

/** Begins a run of `taskId` (the whole tree for the root). */
const begin = (parts: Parts, taskId: string) => parts.transact((tx) => beginRuns(tx, [{ taskId, pinnedTo: null }]));

/** Ends these tasks of tree `rootId` in one transaction and settles them, as a writer of endings does. */
const settle = (parts: Parts, rootId: string, ended: [id: string, status: TaskStatus][]) =>
  parts.transact(async (tx) => {
    await tx.lock([rootId]);
    for (const [id, status] of ended) tx.set(id, { status, completed_at: tx.now, lease_owner: null, ready_at: null });
    return settleRuns(tx, new Map([[rootId, { settled: ended.map(([id, status]) => ({ id, status })) }]]));
  });

const statuses = async (parts: Parts, rootId: string) =>
  Object.fromEntries(
    (await parts.repo.tree(rootId)).map((row) => [row.id, `${row.status}${row.ready_at ? '+ready' : ''}`]),
  );

/** r: a, b (needs a), c (needs b). */
const chain: TaskSpec[] = [
  { id: 'r' },
  { id: 'a', parent_id: 'r' },
  { id: 'b', parent_id: 'r', dependencies: ['a'] },
  { id: 'c', parent_id: 'r', dependencies: ['b'] },
];

test('a failed required dependency fails its dependents, transitively, and their parent becomes ready', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  await begin(parts, 'r');
  const settled = await settle(parts, 'r', [['a', 'failed']]);
  assert.deepEqual(settled, { readied: 1, finished: new Set() });
  assert.deepEqual(await statuses(parts, 'r'), { r: 'pending+ready', a: 'failed', b: 'failed', c: 'failed' });
  assert.equal((await parts.row('b')).error, 'dependency a failed');
  assert.equal((await parts.row('c')).error, 'dependency b failed');
  assert.deepEqual((await parts.eventLog('r')).slice(1), ['task_failed:b', 'task_failed:c']);
});

test('a cancelled dependency fails its dependents, saying it was cancelled', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  await begin(parts, 'r');
  await settle(parts, 'r', [['a', 'cancelled']]);
  assert.equal((await parts.row('b')).error, 'dependency a was cancelled');
});

test('a completed dependency makes its dependent ready', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  await begin(parts, 'r');
  assert.deepEqual(await settle(parts, 'r', [['a', 'completed']]), { readied: 1, finished: new Set() });
  assert.deepEqual(await statuses(parts, 'r'), { r: 'pending', a: 'completed', b: 'pending+ready', c: 'pending' });
});

test('an optional dependency that failed lets its dependent go', async (t) => {
  const parts = await engineParts(t);
  await parts.insert([
    { id: 'r' },
    { id: 'a', parent_id: 'r' },
    { id: 'b', parent_id: 'r', dependencies: [{ id: 'a', required: false }] },
  ]);
  await begin(parts, 'r');
  await settle(parts, 'r', [['a', 'failed']]);
  assert.equal((await parts.row('b')).status, 'pending');
  assert.deepEqual((await parts.eventLog('r')).slice(1), []);
});

test('a parent becomes ready only once every child in the run settled', async (t) => {
  const parts = await engineParts(t);
  await parts.insert([{ id: 'r' }, { id: 'a', parent_id: 'r' }, { id: 'b', parent_id: 'r' }]);
  await begin(parts, 'r');
  assert.equal((await settle(parts, 'r', [['a', 'completed']])).readied, 0);
  assert.equal((await parts.row('r')).ready_at, null);
  assert.equal((await settle(parts, 'r', [['b', 'failed']])).readied, 1);
  assert.ok((await parts.row('r')).ready_at);
});

test('the run ends with its final event, counting its tasks, once nothing is left', async (t) => {
  const parts = await engineParts(t);
  await parts.insert([{ id: 'r' }, { id: 'a', parent_id: 'r' }, { id: 'b', parent_id: 'r', dependencies: ['a'] }]);
  await begin(parts, 'r');
  assert.deepEqual((await settle(parts, 'r', [['a', 'failed']])).finished, new Set());
  assert.deepEqual((await settle(parts, 'r', [['r', 'completed']])).finished, new Set(['r']));
  const final = (await parts.events('r')).at(-1);
  assert.equal(final?.type, 'final');
  assert.equal(final?.status, 'completed');
  assert.deepEqual(final?.counts, {
    total: 3,
    completed: 1,
    failed: 2,
    cancelled: 0,
    pending: 0,
    in_progress: 0,
    input_required: 0,
  });
  const root = await parts.row('r');
  assert.deepEqual([root.run_state, root.active_run], [null, null]);
});

test('a whole-tree run lasts as long as its root', async (t) => {
  const parts = await engineParts(t);
  await parts.insert([{ id: 'r' }, { id: 'a', parent_id: 'r' }]);
  await begin(parts, 'r');
  assert.deepEqual(await settle(parts, 'r', [['a', 'completed']]), { readied: 1, finished: new Set() });
  assert.equal((await parts.row('r')).run_state, 'running');
});

test('a run of one task ends once it and its dependencies settled, the root never run', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  await begin(parts, 'b');
  await settle(parts, 'r', [['a', 'completed']]);
  const settled = await settle(parts, 'r', [['b', 'completed']]);
  assert.deepEqual(settled, { readied: 0, finished: new Set(['r']) });
  assert.deepEqual(await statuses(parts, 'r'), { r: 'pending', a: 'completed', b: 'completed', c: 'pending' });
  assert.equal((await parts.row('r')).run_state, null);
});

test('dependents outside the run are left alone', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  await begin(parts, 'b');
  const settled = await settle(parts, 'r', [['a', 'failed']]);
  assert.deepEqual(settled.finished, new Set(['r']), 'b failed with a: the run is over');
  assert.deepEqual(await statuses(parts, 'r'), { r: 'pending', a: 'failed', b: 'failed', c: 'pending' });
});

test('settling a tree that has no run under way changes nothing', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  assert.deepEqual(await settle(parts, 'r', [['a', 'failed']]), { readied: 0, finished: new Set() });
  assert.deepEqual(await statuses(parts, 'r'), { r: 'pending', a: 'failed', b: 'pending', c: 'pending' });
  assert.deepEqual(await parts.eventLog('r'), []);
});
