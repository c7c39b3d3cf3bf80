import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRunMemory, type RunMemory } from '../../../kernel/engine/run-memory.ts';
import { runInMemory, type TaskSpec } from './parts.ts';

const claim = {
  lease_owner: 'engine-a',
  lease_expires_at: '2030-01-01T00:00:30.000Z',
  started_at: '2030-01-01T00:00:00.000Z',
};
const family: TaskSpec[] = [{ id: 'r' }, { id: 'a', parent_id: 'r' }, { id: 'b', parent_id: 'r' }];
const task = (id: string) => ({ id, root_id: 'r', run_id: 'run-1' });

/** A memory holding one run of `tasks` (root r, run run-1), pinned to `pinnedTo`. */
function remembering(tasks: TaskSpec[] = family, pinnedTo: string | null = null, memory = createRunMemory()) {
  const made = runInMemory(tasks);
  memory.remember(made.rootId, made.runId, made.shape, pinnedTo, [...made.rows.values()]);
  return memory;
}

/** Status of each remembered row (a forgotten one is absent). */
const statuses = (memory: RunMemory, runId = 'run-1') =>
  Object.fromEntries([...(memory.recall('r', runId)?.rows.values() ?? [])].map((row) => [row.id, row.status]));

test('remembers a copy of the rows: later changes to the given rows do not reach it', async () => {
  const memory = createRunMemory();
  const made = runInMemory(family);
  const rows = [...made.rows.values()];
  memory.remember('r', 'run-1', made.shape, null, rows);
  for (const row of rows) row.status = 'completed';
  assert.deepEqual(statuses(memory), { r: 'pending', a: 'pending', b: 'pending' });
});

test('a claim moves a pending row to in progress', async () => {
  const memory = remembering();
  assert.equal(memory.claimed(task('a')), true);
  assert.deepEqual(statuses(memory), { r: 'pending', a: 'in_progress', b: 'pending' });
});

test('an ending moves a running row to completed or failed, with its change', async () => {
  const memory = remembering();
  memory.claimed(task('a'));
  memory.claimed(task('b'));
  assert.equal(memory.ended(task('a'), { status: 'completed', result: { n: 1 } }), true);
  assert.equal(memory.ended(task('b'), { status: 'failed', error: 'boom' }), true);
  const rows = memory.recall('r', 'run-1')?.rows;
  assert.deepEqual([rows?.get('a')?.status, rows?.get('a')?.result], ['completed', { n: 1 }]);
  assert.deepEqual([rows?.get('b')?.status, rows?.get('b')?.error], ['failed', 'boom']);
});

test('a retry moves a running row back to pending', async () => {
  const memory = remembering();
  memory.claimed(task('a'));
  assert.equal(memory.ended(task('a'), { status: 'pending', next_attempt_at: claim.started_at }), true);
  assert.equal(memory.recall('r', 'run-1')?.rows.get('a')?.status, 'pending');
});

for (const [name, moves] of [
  ['pending → completed', (m: RunMemory) => m.ended(task('a'), { status: 'completed' })],
  ['in_progress → in_progress', (m: RunMemory) => (m.claimed(task('a')), m.claimed(task('a')))],
  [
    'completed → in_progress',
    (m: RunMemory) => (m.claimed(task('a')), m.ended(task('a'), { status: 'completed' }), m.claimed(task('a'))),
  ],
  [
    'failed → pending',
    (m: RunMemory) => (
      m.claimed(task('a')),
      m.ended(task('a'), { status: 'failed' }),
      m.ended(task('a'), { status: 'pending' })
    ),
  ],
] as const) {
  test(`a move it does not allow (${name}) forgets the row instead`, async () => {
    const memory = remembering();
    assert.equal(moves(memory), false);
    assert.deepEqual(statuses(memory), { r: 'pending', b: 'pending' });
  });
}

test('moves of a run it does not remember change nothing', async () => {
  const memory = remembering();
  assert.equal(memory.claimed({ id: 'a', root_id: 'r', run_id: 'run-2' }), false);
  assert.equal(memory.claimed({ id: 'a', root_id: 'r', run_id: null }), false);
  assert.deepEqual(statuses(memory), { r: 'pending', a: 'pending', b: 'pending' });
});

test('offers the parent once all its children ended, and marks it claimed: it is offered once', async () => {
  const memory = remembering();
  for (const id of ['a', 'b']) memory.claimed(task(id));
  memory.ended(task('a'), { status: 'completed' });
  assert.deepEqual(memory.followOns(task('a'), claim), [], 'b still runs');
  memory.ended(task('b'), { status: 'failed' });
  const offered = memory.followOns(task('b'), claim);
  assert.deepEqual(
    offered.map((followOn) => [followOn.row.id, followOn.gates]),
    [['r', ['a', 'b']]],
  );
  assert.equal(statuses(memory).r, 'in_progress');
  assert.deepEqual(memory.followOns(task('b'), claim), []);
});

test('released gives a follow-on that found no slot back: pending, offered again', async () => {
  const memory = remembering([{ id: 'r' }, { id: 'a', parent_id: 'r' }]);
  memory.claimed(task('a'));
  memory.ended(task('a'), { status: 'completed' });
  const [followOn] = memory.followOns(task('a'), claim);
  assert.ok(followOn);
  memory.released(followOn.row);
  assert.equal(statuses(memory).r, 'pending');
  assert.equal(memory.followOns(task('a'), claim).length, 1);
});

test('released leaves alone a row that is not running', async () => {
  const memory = remembering();
  memory.claimed(task('a'));
  memory.ended(task('a'), { status: 'completed' });
  memory.released(task('a'));
  assert.equal(statuses(memory).a, 'completed');
});

test('a forgotten row holds back what waits for it', async () => {
  const memory = remembering();
  for (const id of ['a', 'b']) memory.claimed(task(id));
  memory.ended(task('b'), { status: 'completed' });
  memory.forget(task('a'));
  memory.ended(task('a'), { status: 'completed' });
  assert.deepEqual(statuses(memory), { r: 'pending', b: 'completed' });
  assert.deepEqual(memory.followOns(task('b'), claim), []);
});

test('a run pinned to another engine gives no follow-ons to this one; its own engine gets them', async () => {
  const memory = remembering([{ id: 'r' }, { id: 'a', parent_id: 'r' }], 'engine-b');
  memory.claimed(task('a'));
  memory.ended(task('a'), { status: 'completed' });
  assert.deepEqual(memory.followOns(task('a'), claim), []);
  assert.equal(statuses(memory).r, 'pending');
  assert.equal(memory.followOns(task('a'), { ...claim, lease_owner: 'engine-b' }).length, 1);
});

test('drop forgets a run: nothing recalled, no follow-ons', async () => {
  const memory = remembering([{ id: 'r' }, { id: 'a', parent_id: 'r' }]);
  memory.claimed(task('a'));
  memory.drop('r', 'run-1');
  assert.equal(memory.recall('r', 'run-1'), undefined);
  assert.equal(memory.ended(task('a'), { status: 'completed' }), false);
  assert.deepEqual(memory.followOns(task('a'), claim), []);
});

test('holds at most its bound of runs, forgetting the oldest first', async () => {
  const memory = createRunMemory(2);
  const made = runInMemory(family);
  for (const runId of ['run-1', 'run-2', 'run-3'])
    memory.remember('r', runId, made.shape, null, [...made.rows.values()]);
  assert.equal(memory.recall('r', 'run-1'), undefined);
  assert.ok(memory.recall('r', 'run-2'));
  assert.ok(memory.recall('r', 'run-3'));
});
