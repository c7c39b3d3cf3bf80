import assert from 'node:assert/strict';
import { test } from 'node:test';
import { beginRuns, type RunToBegin } from '../../../kernel/engine/begin-runs.ts';
import { INTERRUPTED } from '../../../kernel/engine/run-rules.ts';
import { begun, engineParts, type Parts } from './parts.ts';

const begin = (parts: Parts, ...starts: RunToBegin[]) => parts.transact((tx) => beginRuns(tx, starts));
const whole = (taskId: string, more: Partial<RunToBegin> = {}): RunToBegin => ({ taskId, pinnedTo: null, ...more });
const past = () => new Date(Date.now() - 60_000).toISOString();
const future = () => new Date(Date.now() + 60_000).toISOString();

/** r: a, then b (needs a). */
const chain = [{ id: 'r' }, { id: 'a', parent_id: 'r' }, { id: 'b', parent_id: 'r', dependencies: ['a'] }];

test('begins a whole-tree run: every task carries it, the root runs, the leaves with nothing to wait for are ready', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  const { runs, readied } = await begin(parts, whole('r'));
  const run = begun(runs[0]);
  assert.equal(run.rootId, 'r');
  assert.equal(run.endedAtOnce, false);
  assert.equal(readied, 1);
  const [r, a, b] = await Promise.all(['r', 'a', 'b'].map(parts.row));
  for (const row of [r, a, b]) assert.equal(row?.run_id, run.runId);
  assert.equal(r?.run_state, 'running');
  assert.equal(r?.active_run, run.runId);
  assert.ok(a?.ready_at, 'a waits for nothing');
  assert.equal(b?.ready_at, null, 'b waits for a');
  assert.equal(r?.ready_at, null, 'r waits for its children');
});

test("the run's first event is a progress event of the root, numbered after the tree's last one", async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  await parts.set('r', { event_seq: 7 });
  const run = begun((await begin(parts, whole('r'))).runs[0]);
  assert.equal(run.firstSeq, 8);
  const [first, ...rest] = await parts.events('r');
  assert.deepEqual(
    { type: first?.type, task: first?.task_id, seq: first?.seq, message: first?.message },
    { type: 'progress', task: 'r', seq: 8, message: 'Task tree execution started' },
  );
  assert.deepEqual(rest, []);
  assert.equal((await parts.row('r')).event_seq, 8);
});

test('refuses a tree that is running already, and changes nothing', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  const first = begun((await begin(parts, whole('r'))).runs[0]);
  const again = await begin(parts, whole('a'));
  assert.deepEqual(again, { runs: [{ begun: false, missing: false, rootId: 'r' }], readied: 0 });
  assert.equal((await parts.row('b')).run_id, first.runId);
  assert.deepEqual(await parts.eventLog('r'), ['progress:r']);
});

test('refuses a second start of the same tree in one batch', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  const { runs } = await begin(parts, whole('r'), whole('b'));
  begun(runs[0]);
  assert.deepEqual(runs[1], { begun: false, missing: false, rootId: 'r' });
  assert.deepEqual(await parts.eventLog('r'), ['progress:r']);
});

test('answers missing for a task that is not stored', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  const { runs } = await begin(parts, whole('nope'), whole('r'));
  assert.deepEqual(runs[0], { begun: false, missing: true });
  begun(runs[1]);
});

test('a run of a task that is not the root covers that task and its dependencies only', async (t) => {
  const parts = await engineParts(t);
  await parts.insert([...chain, { id: 'c', parent_id: 'r' }]);
  const run = begun((await begin(parts, whole('b'))).runs[0]);
  const rows = new Map((await parts.repo.tree('r')).map((row) => [row.id, row]));
  assert.deepEqual(
    [...rows.values()].filter((row) => row.run_id === run.runId).map((row) => row.id),
    ['a', 'b'],
  );
  assert.equal(rows.get('r')?.active_run, run.runId, "the root holds the tree's run");
  assert.equal(rows.get('r')?.run_state, 'running');
  assert.ok(rows.get('a')?.ready_at);
  assert.equal(rows.get('c')?.ready_at, null);
  assert.deepEqual([...(run.memory?.shape.inRun ?? [])].sort(), ['a', 'b']);
});

test('ended tasks in the run start over', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  const done = { completed_at: past(), started_at: past(), attempts: 2 };
  await parts.set('a', { status: 'completed', result: { n: 1 }, progress: 1, ...done });
  await parts.set('b', { status: 'failed', error: 'boom', ...done });
  await begin(parts, whole('r'));
  for (const id of ['a', 'b']) {
    const row = await parts.row(id);
    assert.deepEqual(
      [row.status, row.result, row.error, row.progress, row.attempts, row.started_at, row.completed_at],
      ['pending', null, null, 0, 0, null, null],
      id,
    );
  }
  assert.ok((await parts.row('a')).ready_at);
});

test('stores the pin and the demo flag on every task of the run', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  await begin(parts, whole('r', { pinnedTo: parts.owner, demo: true }));
  for (const row of await parts.repo.tree('r')) {
    assert.equal(row.pinned_to, parts.owner);
    assert.equal(row.run_demo, true);
  }
});

test('gives the engine what to remember of a small tree: its shape, pin and rows as begun', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(chain);
  const run = begun((await begin(parts, whole('r', { pinnedTo: parts.owner }))).runs[0]);
  const memory = run.memory;
  assert.ok(memory);
  assert.equal(memory.pinnedTo, parts.owner);
  assert.deepEqual([...memory.shape.inRun].sort(), ['a', 'b', 'r']);
  assert.deepEqual(memory.shape.requires.get('b'), ['a']);
  assert.deepEqual(
    memory.rows.map((row) => [row.id, row.status, row.run_id]),
    [
      ['r', 'pending', run.runId],
      ['a', 'pending', run.runId],
      ['b', 'pending', run.runId],
    ],
  );
});

test('a run with nothing it can run ends at once, with its final event', async (t) => {
  const parts = await engineParts(t);
  await parts.insert([{ id: 'solo' }]);
  // Left running by an engine that stopped, no retry left.
  await parts.set('solo', { status: 'in_progress', attempts: 1, lease_owner: 'gone/1/x', lease_expires_at: past() });
  const { runs } = await begin(parts, whole('solo'));
  const run = begun(runs[0]);
  assert.equal(run.endedAtOnce, true);
  assert.deepEqual(await parts.eventLog('solo'), ['progress:solo', 'task_failed:solo', 'final:solo']);
  const final = (await parts.events('solo')).at(-1);
  assert.deepEqual(final?.counts, {
    total: 1,
    completed: 0,
    failed: 1,
    cancelled: 0,
    pending: 0,
    in_progress: 0,
    input_required: 0,
  });
  const row = await parts.row('solo');
  assert.deepEqual([row.status, row.error, row.run_state, row.active_run], ['failed', INTERRUPTED, null, null]);
});

test('a task left running by a stopped engine with a retry left goes back to the queue', async (t) => {
  const parts = await engineParts(t);
  await parts.insert([{ id: 'r' }, { id: 'a', parent_id: 'r', params: { retries: 1 } }]);
  await parts.set('a', { status: 'in_progress', attempts: 1, lease_owner: 'gone/1/x', lease_expires_at: past() });
  await begin(parts, whole('r'));
  const a = await parts.row('a');
  assert.deepEqual([a.status, a.error, a.lease_owner], ['pending', INTERRUPTED, null]);
  assert.ok(a.ready_at);
});

test('a task another engine still holds under a live lease keeps running in the new run', async (t) => {
  const parts = await engineParts(t);
  await parts.insert([{ id: 'r' }, { id: 'a', parent_id: 'r' }]);
  const lease = { lease_owner: 'elsewhere/1/x', lease_expires_at: future() };
  await parts.set('a', { status: 'in_progress', attempts: 1, ...lease });
  const run = begun((await begin(parts, whole('r'))).runs[0]);
  const a = await parts.row('a');
  assert.deepEqual([a.status, a.lease_owner, a.run_id], ['in_progress', lease.lease_owner, run.runId]);
});

test('resume begins a run over a tree an older apflow left running, finished tasks kept', async (t) => {
  const parts = await engineParts(t);
  await parts.insert([{ id: 'r' }, { id: 'a', parent_id: 'r' }]);
  for (const id of ['r', 'a']) await parts.set(id, { status: 'completed', result: id, completed_at: past() });
  await parts.set('r', { run_state: 'running' });
  assert.deepEqual((await begin(parts, whole('r'))).runs[0], { begun: false, missing: false, rootId: 'r' });
  const run = begun((await begin(parts, whole('r', { resume: true }))).runs[0]);
  assert.equal(run.endedAtOnce, true);
  assert.deepEqual(
    (await parts.repo.tree('r')).map((row) => [row.id, row.status, row.result]),
    [
      ['r', 'completed', 'r'],
      ['a', 'completed', 'a'],
    ],
  );
  assert.deepEqual(await parts.eventLog('r'), ['progress:r', 'final:r']);
});
