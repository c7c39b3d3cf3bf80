import assert from 'node:assert/strict';
import { test } from 'node:test';
import { beginRuns } from '../../../kernel/engine/begin-runs.ts';
import { claimReady } from '../../../kernel/engine/claim-ready.ts';
import { followOnsAfter } from '../../../kernel/engine/follow-ons.ts';
import { endingOf } from '../../../kernel/engine/task-ending.ts';
import { writeReports, type Report } from '../../../kernel/engine/write-reports.ts';
import type { TaskRow } from '../../../kernel/tasks/task-record.ts';
import { begun, engineParts, type Parts } from './parts.ts';

const until = () => new Date(Date.now() + 60_000).toISOString();

/** Tree r with child a; a run begun and a claimed by this engine. Returns a as claimed and what the run began with. */
async function claimedChild(parts: Parts) {
  await parts.insert([{ id: 'r' }, { id: 'a', parent_id: 'r' }]);
  return parts.transact(async (tx) => {
    const run = begun((await beginRuns(tx, [{ taskId: 'r', pinnedTo: null }])).runs[0]);
    const [a] = (await claimReady(tx, { slots: 1, pinnedOnly: false, leaseUntil: until() })).rows;
    return { a: a ?? assert.fail('a was not claimed'), run };
  });
}

const completed = (row: TaskRow, result: unknown = 'done') => endingOf(row, { status: 'completed', result }).report;
const write = (parts: Parts, batch: Report[]) => parts.transact((tx) => writeReports(tx, batch));

/** r's follow-on after a completed, as the engine's memory would offer it. */
function followOnOfParent(run: ReturnType<typeof begun>, a: TaskRow) {
  const rows = new Map((run.memory?.rows ?? []).map((row) => [row.id, { ...row }]));
  rows.set('a', { ...a, status: 'completed', result: 'done' });
  const claim = { lease_owner: a.lease_owner, lease_expires_at: until(), started_at: new Date().toISOString() };
  const [followOn] = followOnsAfter({ shape: (run.memory ?? assert.fail('no memory')).shape, rows }, 'a', claim);
  return followOn ?? assert.fail('r was not offered');
}

test('an end of a task this engine holds is written and carries its run on (the parent is made ready)', async (t) => {
  const parts = await engineParts(t);
  const { a } = await claimedChild(parts);
  const written = await write(parts, [completed(a, { n: 1 })]);
  assert.deepEqual(written, { refused: new Set(), readied: 1 });
  const stored = await parts.row('a');
  assert.deepEqual([stored.status, stored.result, stored.lease_owner], ['completed', { n: 1 }, null]);
  assert.ok((await parts.row('r')).ready_at, 'r is ready');
  assert.deepEqual(await parts.eventLog('r'), ['progress:r', 'task_start:a', 'task_completed:a']);
});

test('an end of a task another engine holds now is refused and changes nothing', async (t) => {
  const parts = await engineParts(t);
  const { a } = await claimedChild(parts);
  await parts.set('a', { lease_owner: 'elsewhere/1/x' });
  const written = await write(parts, [completed(a)]);
  assert.deepEqual(written, { refused: new Set(['a']), readied: 0 });
  const stored = await parts.row('a');
  assert.deepEqual([stored.status, stored.result, stored.lease_owner], ['in_progress', null, 'elsewhere/1/x']);
  assert.equal((await parts.row('r')).ready_at, null);
  assert.deepEqual(await parts.eventLog('r'), ['progress:r', 'task_start:a']);
});

test('an end of a task cancelled meanwhile is refused', async (t) => {
  const parts = await engineParts(t);
  const { a } = await claimedChild(parts);
  await parts.set('a', { status: 'cancelled', lease_owner: null, lease_expires_at: null });
  assert.deepEqual((await write(parts, [completed(a)])).refused, new Set(['a']));
  assert.equal((await parts.row('a')).status, 'cancelled');
});

test('progress of a task this engine holds is written with its event; of one it lost, refused', async (t) => {
  const parts = await engineParts(t);
  const { a } = await claimedChild(parts);
  const progress = (value: number): Report => ({
    kind: 'progress',
    subject: { id: 'a', root_id: 'r', status: 'in_progress', progress: value, error: null },
    message: `at ${value}`,
  });
  assert.deepEqual((await write(parts, [progress(0.5)])).refused, new Set());
  assert.equal((await parts.row('a')).progress, 0.5);
  assert.equal((await parts.events('r')).at(-1)?.message, 'at 0.5');
  await parts.set(a.id, { lease_owner: 'elsewhere/1/x' });
  assert.deepEqual((await write(parts, [progress(0.9)])).refused, new Set(['a']));
  assert.equal((await parts.row('a')).progress, 0.5);
});

test('a follow-on claim is written after its gate: the task runs here, no readiness needed', async (t) => {
  const parts = await engineParts(t);
  const { a, run } = await claimedChild(parts);
  const written = await write(parts, [completed(a), { kind: 'follow-on', followOn: followOnOfParent(run, a) }]);
  assert.deepEqual(written, { refused: new Set(), readied: 0 });
  const r = await parts.row('r');
  assert.deepEqual([r.status, r.lease_owner, r.attempts, r.ready_at], ['in_progress', parts.owner, 1, null]);
  assert.deepEqual(await parts.eventLog('r'), ['progress:r', 'task_start:a', 'task_completed:a', 'task_start:r']);
});

test('a follow-on claim is refused when its gate was refused in the same batch', async (t) => {
  const parts = await engineParts(t);
  const { a, run } = await claimedChild(parts);
  await parts.set('a', { lease_owner: 'elsewhere/1/x' });
  const written = await write(parts, [completed(a), { kind: 'follow-on', followOn: followOnOfParent(run, a) }]);
  assert.deepEqual(written.refused, new Set(['a', 'r']));
  const r = await parts.row('r');
  assert.deepEqual([r.status, r.lease_owner, r.attempts], ['pending', null, 0]);
  assert.deepEqual(await parts.eventLog('r'), ['progress:r', 'task_start:a']);
});

test('a follow-on claim is refused when the task is no longer pending in the same run', async (t) => {
  const parts = await engineParts(t);
  const { a, run } = await claimedChild(parts);
  const followOn = followOnOfParent(run, a);
  await parts.set('r', { run_id: 'a-later-run' });
  const written = await write(parts, [completed(a), { kind: 'follow-on', followOn }]);
  assert.deepEqual(written.refused, new Set(['r']));
  const r = await parts.row('r');
  assert.deepEqual([r.status, r.lease_owner], ['pending', null]);
  assert.equal((await parts.row('a')).status, 'completed', 'the gate itself was written');
});

test('an empty batch writes nothing', async (t) => {
  const parts = await engineParts(t);
  await claimedChild(parts);
  assert.deepEqual(await write(parts, []), { refused: new Set(), readied: 0 });
  assert.deepEqual(await parts.eventLog('r'), ['progress:r', 'task_start:a']);
});
