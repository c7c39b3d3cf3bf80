import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { beginRuns, type RunToBegin } from '../../../kernel/engine/begin-runs.ts';
import { claimReady, type ClaimLimits } from '../../../kernel/engine/claim-ready.ts';
import { endingOf } from '../../../kernel/engine/task-ending.ts';
import { writeReports } from '../../../kernel/engine/write-reports.ts';
import { engineParts, type Parts, type TaskSpec } from './parts.ts';

const leaseUntil = new Date(Date.now() + 60_000).toISOString();
const limits = (more: Partial<ClaimLimits> = {}): ClaimLimits => ({
  slots: 10,
  pinnedOnly: false,
  leaseUntil,
  ...more,
});
const claimed = (parts: Parts, more: Partial<ClaimLimits> = {}) => parts.transact((tx) => claimReady(tx, limits(more)));
const claim = async (parts: Parts, more: Partial<ClaimLimits> = {}) => (await claimed(parts, more)).rows;
const begin = (parts: Parts, ...starts: RunToBegin[]) => parts.transact((tx) => beginRuns(tx, starts));

/** Root `id` with `n` children `id1`…, each with `extra`. */
const fan = (id: string, n: number, extra: (i: number) => Partial<TaskSpec> = () => ({})): TaskSpec[] => [
  { id },
  ...Array.from({ length: n }, (_, i) => ({ id: `${id}${i + 1}`, parent_id: id, ...extra(i + 1) })),
];

/** Three one-task trees begun pinned to this engine (`mine`), to none (`free`) and to another (`theirs`). */
async function pinnedThreeWays(t: TestContext): Promise<Parts> {
  const parts = await engineParts(t);
  await parts.insert(fan('mine', 1));
  await parts.insert(fan('free', 1));
  await parts.insert(fan('theirs', 1));
  await begin(
    parts,
    { taskId: 'mine', pinnedTo: parts.owner },
    { taskId: 'free', pinnedTo: null },
    { taskId: 'theirs', pinnedTo: 'elsewhere/1/x' },
  );
  return parts;
}

async function running(parts: Parts, rootId: string): Promise<string[]> {
  return (await parts.repo.tree(rootId)).filter((row) => row.status === 'in_progress').map((row) => row.id);
}

test('claims up to its free slots, each under its lease, one attempt more, with a task_start event', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(fan('r', 3));
  await begin(parts, { taskId: 'r', pinnedTo: null });
  const claimed = await claim(parts, { slots: 2 });
  assert.equal(claimed.length, 2);
  assert.deepEqual((await running(parts, 'r')).sort(), claimed.map((row) => row.id).sort());
  for (const row of claimed) {
    const stored = await parts.row(row.id);
    assert.deepEqual(
      [stored.lease_owner, stored.lease_expires_at, stored.attempts, stored.ready_at],
      [parts.owner, leaseUntil, 1, null],
    );
    assert.ok(stored.started_at);
  }
  assert.deepEqual(
    (await parts.eventLog('r')).slice(1),
    claimed.map((row) => `task_start:${row.id}`),
  );
});

test('claims the most urgent first: lower priority number, then creation order', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(fan('r', 4, (i) => ({ priority: [3, 1, 2, 1][i - 1] })));
  await begin(parts, { taskId: 'r', pinnedTo: null });
  assert.deepEqual(
    (await claim(parts)).map((row) => row.id),
    ['r2', 'r4', 'r3', 'r1'],
  );
});

test('claims nothing without a free slot', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(fan('r', 1));
  await begin(parts, { taskId: 'r', pinnedTo: null });
  assert.deepEqual(await claim(parts, { slots: 0 }), []);
  assert.deepEqual(await running(parts, 'r'), []);
});

test('leaves tasks waiting for a retry until their time comes', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(fan('r', 2));
  await begin(parts, { taskId: 'r', pinnedTo: null });
  await parts.set('r1', { ready_at: new Date(Date.now() + 60_000).toISOString() });
  assert.deepEqual(
    (await claim(parts)).map((row) => row.id),
    ['r2'],
  );
});

test("merges the results of a task's dependencies into its inputs, in the row and in the database", async (t) => {
  const parts = await engineParts(t);
  await parts.insert([
    { id: 'r' },
    { id: 'a', parent_id: 'r' },
    { id: 'b', parent_id: 'r', dependencies: ['a'], inputs: { own: 1 } },
  ]);
  await begin(parts, { taskId: 'r', pinnedTo: null });
  const [a] = await claim(parts);
  assert.equal(a?.id, 'a');
  await parts.transact((tx) => writeReports(tx, [endingOf(a, { status: 'completed', result: { n: 42 } }).report]));
  const [b] = await claim(parts);
  assert.deepEqual(b?.inputs, { own: 1, a: { n: 42 } });
  assert.deepEqual((await parts.row('b')).inputs, { own: 1, a: { n: 42 } });
});

test('holds each user to the per-user limit, counting their tasks running anywhere', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(fan('u', 3), { userId: 'ursula' });
  await parts.insert(fan('v', 3), { userId: 'victor' });
  await begin(parts, { taskId: 'u', pinnedTo: null }, { taskId: 'v', pinnedTo: null });
  await parts.set('u1', { status: 'in_progress', lease_owner: 'elsewhere/1/x', ready_at: null });
  const claimed = await claim(parts, { perUser: 2 });
  assert.deepEqual(claimed.map((row) => row.id).sort(), ['u2', 'v1', 'v2']);
  assert.deepEqual(await running(parts, 'u'), ['u1', 'u2']);
});

test('holds every engine together to the cluster limit', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(fan('r', 3));
  await begin(parts, { taskId: 'r', pinnedTo: null });
  await parts.set('r1', { status: 'in_progress', lease_owner: 'elsewhere/1/x', ready_at: null });
  assert.deepEqual(
    (await claim(parts, { cluster: 2 })).map((row) => row.id),
    ['r2'],
  );
});

test('pinnedOnly claims only the tasks pinned to this engine', async (t) => {
  const parts = await pinnedThreeWays(t);
  assert.deepEqual(
    (await claim(parts, { pinnedOnly: true })).map((row) => row.id),
    ['mine1'],
  );
});

test('never claims a task pinned to another engine; takes unpinned ones and its own', async (t) => {
  const parts = await pinnedThreeWays(t);
  assert.deepEqual((await claim(parts)).map((row) => row.id).sort(), ['free1', 'mine1']);
  assert.equal((await parts.row('theirs1')).status, 'pending');
});

test('says when it took every claimable task: fewer ready than free slots, none of them in a tree held elsewhere', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(fan('r', 3));
  await begin(parts, { taskId: 'r', pinnedTo: null });
  const full = await claimed(parts, { slots: 2 });
  assert.deepEqual([full.rows.length, full.drained], [2, false], 'as many ready as slots: there may be more');
  const rest = await claimed(parts, { slots: 2 });
  assert.deepEqual([rest.rows.length, rest.drained], [1, true]);
  assert.deepEqual(await claimed(parts, { slots: 2 }), { rows: [], drained: true }, 'nothing ready');
  assert.deepEqual(await claimed(parts, { slots: 0 }), { rows: [], drained: false }, 'no slot: it did not look');
});

test('never says drained under per-user or cluster limits (others free their slots)', async (t) => {
  const parts = await engineParts(t);
  await parts.insert(fan('r', 1));
  await begin(parts, { taskId: 'r', pinnedTo: null });
  assert.equal((await claimed(parts, { perUser: 5 })).drained, false);
  assert.equal((await claimed(parts, { cluster: 5 })).drained, false);
});
