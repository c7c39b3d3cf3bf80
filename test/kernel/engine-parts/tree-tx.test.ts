import assert from 'node:assert/strict';
import { test } from 'node:test';
import { beginRuns } from '../../../kernel/engine/begin-runs.ts';
import type { EngineSignal, SignalBus } from '../../../kernel/engine/signal-bus.ts';
import { createTransactor } from '../../../kernel/engine/transactor.ts';
import { engineParts, type Parts } from './parts.ts';

const subject = (id: string) => ({ id, root_id: 'r', status: 'pending' as const, progress: 0, error: null });
const tree = [{ id: 'r' }, { id: 'a', parent_id: 'r' }];

async function withTree(t: Parameters<typeof engineParts>[0]): Promise<Parts> {
  const parts = await engineParts(t);
  await parts.insert(tree);
  return parts;
}

test("numbers events after the root's counter, and writes the counter and the log when it commits", async (t) => {
  const parts = await withTree(t);
  await parts.set('r', { event_seq: 4 });
  const seqs = await parts.transact(async (tx) => {
    await tx.lock(['r']);
    return [tx.event('progress', subject('r'), 'one').seq, tx.event('progress', subject('a'), 'two').seq];
  });
  assert.deepEqual(seqs, [5, 6]);
  assert.equal((await parts.row('r')).event_seq, 6);
  assert.deepEqual(
    (await parts.events('r')).map((event) => [event.seq, event.task_id, event.message]),
    [
      [5, 'r', 'one'],
      [6, 'a', 'two'],
    ],
  );
  assert.deepEqual(
    parts.announced.map((event) => event.seq),
    [5, 6],
  );
});

test('an event of a tree whose root it does not hold fails the transaction', async (t) => {
  const parts = await withTree(t);
  await assert.rejects(
    parts.transact(async (tx) => tx.event('progress', subject('a'))),
    /event of tree r without its root locked/,
  );
  assert.deepEqual(await parts.events('r'), []);
});

test('a transaction that fails writes nothing and announces nothing', async (t) => {
  const parts = await withTree(t);
  await assert.rejects(
    parts.transact(async (tx) => {
      await tx.lock(['r']);
      tx.set('a', { progress: 0.5 });
      await tx.sync();
      tx.event('progress', subject('a'));
      throw new Error('changed my mind');
    }),
    /changed my mind/,
  );
  assert.equal((await parts.row('a')).progress, 0);
  assert.equal((await parts.row('r')).event_seq, 0);
  assert.deepEqual(await parts.events('r'), []);
  assert.deepEqual(parts.announced, []);
});

test('changes to a task merge, and sync writes them so the transaction reads them back', async (t) => {
  const parts = await withTree(t);
  const read = await parts.transact(async (tx) => {
    tx.set('a', { progress: 0.5 });
    tx.set('a', { error: 'noted' });
    await tx.sync();
    return tx.runner.select<{ progress: number; error: string }>(
      "SELECT progress, error FROM apflow_tasks WHERE id = 'a'",
    );
  });
  assert.deepEqual(read, [{ progress: 0.5, error: 'noted' }]);
  const a = await parts.row('a');
  assert.deepEqual([a.progress, a.error], [0.5, 'noted']);
});

test('lockTreesOf finds the roots of the tasks it is given and holds them; lock answers what it holds', async (t) => {
  const parts = await withTree(t);
  await parts.insert([{ id: 'other' }]);
  const answers = await parts.transact(async (tx) => {
    const rootOf = await tx.lockTreesOf(['a', 'nope']);
    return { rootOf, roots: [...tx.roots.keys()], held: await tx.lock(['r', 'other']), after: [...tx.roots.keys()] };
  });
  assert.deepEqual(answers.rootOf, new Map([['a', 'r']]));
  assert.deepEqual(answers.roots, ['r']);
  assert.deepEqual(answers.held, new Set(['r', 'other']));
  assert.deepEqual(answers.after.sort(), ['other', 'r']);
});

test("runShape answers the shape of the tree's run under way, and null without one", async (t) => {
  const parts = await withTree(t);
  const shapeNow = () =>
    parts.transact(async (tx) => {
      await tx.lock(['r']);
      return tx.runShape('r');
    });
  assert.equal(await shapeNow(), null);
  await parts.transact((tx) => beginRuns(tx, [{ taskId: 'r', pinnedTo: null }]));
  const active = await shapeNow();
  assert.equal(active?.runId, (await parts.row('r')).active_run);
  assert.deepEqual([...(active?.shape.inRun ?? [])].sort(), ['a', 'r']);
  assert.deepEqual(active?.shape.children.get('r'), ['a']);
});

test('the transactor signals what the other engines need to hear of a commit, and nothing else', async (t) => {
  const parts = await withTree(t);
  const sent: EngineSignal[] = [];
  const bus: SignalBus = {
    kind: 'cluster',
    sendInTransaction: async () => undefined,
    inTransaction: () => null,
    sendAfterCommit: (signal) => void sent.push(signal),
    onSignal: () => () => undefined,
    close: async () => undefined,
  };
  const transact = createTransactor({
    sql: parts.sql,
    owner: 'engine-a',
    shapes: parts.shapes,
    signals: bus,
    announce: () => undefined,
    readied: () => undefined,
  });
  await transact(async (tx) => {
    await tx.lock(['r']);
    tx.event('progress', subject('r'));
    tx.event('progress', subject('a'));
  });
  await transact(async (tx) => {
    tx.notes.wake = true;
    tx.notes.cancelled.push('a');
  });
  await transact(async () => undefined);
  assert.deepEqual(sent, [
    { o: 'engine-a', e: [['r', 2]] },
    { o: 'engine-a', r: 1, c: ['a'] },
  ]);
});

test('a read sent ahead is taken once, and not once something that may write was sent after it', async (t) => {
  const parts = await withTree(t);
  const taken = await parts.transact(async (tx) => {
    const read = (runner: typeof tx.runner) =>
      runner.select<{ id: string }>("SELECT id FROM apflow_tasks WHERE id = 'a'");
    tx.readAhead('fresh', read);
    await tx.runner.select("SELECT id FROM apflow_tasks WHERE id = 'r'");
    const fresh = await tx.takeAhead<{ id: string }[]>('fresh');
    const again = tx.takeAhead('fresh');
    tx.readAhead('stale', read);
    tx.set('a', { progress: 0.5 });
    await tx.sync();
    const stale = tx.takeAhead('stale');
    tx.readAhead('written-then-read', read);
    await tx.runner.select("UPDATE apflow_tasks SET progress = 0.25 WHERE id = 'a' RETURNING id");
    const afterReturning = tx.takeAhead('written-then-read');
    return { fresh, again, stale, afterReturning, never: tx.takeAhead('never sent') };
  });
  assert.deepEqual(taken.fresh, [{ id: 'a' }], 'a read between leaves it fit');
  assert.equal(taken.again, undefined, 'taken once');
  assert.equal(taken.stale, undefined, 'a write sent after it');
  assert.equal(taken.afterReturning, undefined, 'an UPDATE … RETURNING is a write');
  assert.equal(taken.never, undefined);
});

test('a write sent ahead is taken once, whatever was sent after it', async (t) => {
  const parts = await withTree(t);
  const taken = await parts.transact(async (tx) => {
    tx.writeAhead('claim', (runner) =>
      runner.select<{ id: string }>("UPDATE apflow_tasks SET progress = 0.5 WHERE id = 'a' RETURNING id"),
    );
    tx.set('a', { name: 'renamed' });
    await tx.sync();
    const first = await tx.takeWrittenAhead<{ id: string }[]>('claim');
    return { first, again: tx.takeWrittenAhead('claim') };
  });
  assert.deepEqual(taken.first, [{ id: 'a' }]);
  assert.equal(taken.again, undefined, 'taken once');
  const row = await parts.row('a');
  assert.equal(row.progress, 0.5, 'what it wrote is written');
  assert.equal(row.name, 'renamed');
});
