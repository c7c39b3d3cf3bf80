import assert from 'node:assert/strict';
import { test } from 'node:test';
import { beginRuns } from '../../../kernel/engine/begin-runs.ts';
import { handBackTasks, recoverTasks } from '../../../kernel/engine/recover-tasks.ts';
import { INTERRUPTED } from '../../../kernel/engine/run-rules.ts';
import type { TaskLease } from '../../../kernel/storage/queries/leases.ts';
import { engineParts, type Parts } from './parts.ts';

const past = new Date(Date.now() - 60_000).toISOString();
const future = new Date(Date.now() + 60_000).toISOString();

/** Tree r: a (params given), b (needs a); a run begun and a running under `owner`'s lease, expired. */
async function leftRunning(parts: Parts, params: Record<string, unknown> = {}, owner = 'gone/1/x') {
  await parts.insert([
    { id: 'r' },
    { id: 'a', parent_id: 'r', params },
    { id: 'b', parent_id: 'r', dependencies: ['a'] },
  ]);
  await parts.transact((tx) => beginRuns(tx, [{ taskId: 'r', pinnedTo: null }]));
  await parts.set('a', {
    status: 'in_progress',
    attempts: 1,
    ready_at: null,
    started_at: past,
    lease_owner: owner,
    lease_expires_at: past,
  });
  const lease: TaskLease = { id: 'a', root_id: 'r', lease_owner: owner, lease_expires_at: past };
  return lease;
}

const recover = (parts: Parts, leases: TaskLease[]) =>
  parts.transact(async (tx) => ({ recovered: await recoverTasks(tx, leases), wake: tx.notes.wake }));

test('a task with a retry left goes back to the queue, ready at once', async (t) => {
  const parts = await engineParts(t);
  const lease = await leftRunning(parts, { retries: 1 });
  assert.deepEqual(await recover(parts, [lease]), { recovered: 1, wake: true });
  const a = await parts.row('a');
  assert.deepEqual([a.status, a.error, a.lease_owner, a.started_at], ['pending', INTERRUPTED, null, null]);
  assert.ok(a.ready_at);
  const last = (await parts.events('r')).at(-1);
  assert.deepEqual([last?.type, last?.message], ['progress', `${INTERRUPTED}; it goes back to the queue`]);
});

test('a task without a retry left fails as interrupted, and its run goes on without it', async (t) => {
  const parts = await engineParts(t);
  const lease = await leftRunning(parts);
  assert.deepEqual(await recover(parts, [lease]), { recovered: 1, wake: true });
  const [a, b] = [await parts.row('a'), await parts.row('b')];
  assert.deepEqual([a.status, a.error, a.lease_owner], ['failed', INTERRUPTED, null]);
  assert.deepEqual([b.status, b.error], ['failed', 'dependency a failed']);
  assert.ok((await parts.row('r')).ready_at, 'r has nothing left to wait for');
  assert.deepEqual((await parts.eventLog('r')).slice(1), ['task_failed:a', 'task_failed:b']);
});

test('a lease renewed since it was seen is left alone (the engine was only slow)', async (t) => {
  const parts = await engineParts(t);
  const lease = await leftRunning(parts);
  await parts.set('a', { lease_expires_at: future });
  assert.deepEqual(await recover(parts, [lease]), { recovered: 0, wake: false });
  const a = await parts.row('a');
  assert.deepEqual([a.status, a.lease_owner], ['in_progress', 'gone/1/x']);
  assert.deepEqual(await parts.eventLog('r'), ['progress:r']);
});

test('a task that ended or changed hands since it was seen is left alone', async (t) => {
  const parts = await engineParts(t);
  const lease = await leftRunning(parts);
  await parts.set('a', { lease_owner: 'taker/1/x' });
  assert.equal((await recover(parts, [lease])).recovered, 0);
  assert.equal((await parts.row('a')).lease_owner, 'taker/1/x');
});

test('handing back puts a task this engine runs back in the queue, the attempt not counted', async (t) => {
  const parts = await engineParts(t);
  await leftRunning(parts, {}, parts.owner);
  const a = await parts.row('a');
  const wake = await parts.transact(async (tx) => {
    await handBackTasks(tx, [a]);
    return tx.notes.wake;
  });
  assert.equal(wake, true);
  const back = await parts.row('a');
  assert.deepEqual(
    [back.status, back.attempts, back.started_at, back.lease_owner, back.lease_expires_at],
    ['pending', 0, null, null, null],
  );
  assert.ok(back.ready_at);
  const last = (await parts.events('r')).at(-1);
  assert.deepEqual(
    [last?.type, last?.task_id, last?.message],
    ['progress', 'a', 'The server running this task is stopping; it goes back to the queue'],
  );
});

test('handing back leaves alone a task this engine no longer holds', async (t) => {
  const parts = await engineParts(t);
  await leftRunning(parts, {}, 'elsewhere/1/x');
  const a = await parts.row('a');
  const wake = await parts.transact(async (tx) => {
    await handBackTasks(tx, [a]);
    return tx.notes.wake;
  });
  assert.equal(wake, false);
  const kept = await parts.row('a');
  assert.deepEqual([kept.status, kept.lease_owner, kept.attempts], ['in_progress', 'elsewhere/1/x', 1]);
  assert.deepEqual(await parts.eventLog('r'), ['progress:r']);
});
