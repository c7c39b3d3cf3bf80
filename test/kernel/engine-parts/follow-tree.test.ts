import assert from 'node:assert/strict';
import { test } from 'node:test';
import { followTree, type EventSource } from '../../../kernel/engine/follow-tree.ts';
import { createTransactor, type Transact } from '../../../kernel/engine/transactor.ts';
import { createTreeHub } from '../../../kernel/engine/tree-hub.ts';
import { createShapeCache } from '../../../kernel/engine/tree-shape.ts';
import { engineParts, type Parts } from './parts.ts';

/** Appends one progress event per message to tree `rootId`, through `transact`. */
const append = (transact: Transact, rootId: string, ...messages: string[]) =>
  transact(async (tx) => {
    await tx.lock([rootId]);
    for (const message of messages)
      tx.event('progress', { id: rootId, root_id: rootId, status: 'pending', progress: 0, error: null }, message);
  });

/** Another server on the same database: it writes events this process never hears of. */
const elsewhere = (parts: Parts): Transact =>
  createTransactor({
    sql: parts.sql,
    owner: 'elsewhere/1/x',
    shapes: createShapeCache(),
    signals: parts.signals,
    announce: () => undefined,
    readied: () => undefined,
  });

/** Follows `rootId` from `after`; `reached(n)` resolves once n events were delivered. */
function follow(source: EventSource, rootId: string, after: number, options?: { replay?: boolean }) {
  const seqs: number[] = [];
  const waits: { n: number; resolve: () => void }[] = [];
  const following = followTree(
    source,
    rootId,
    after,
    (event) => {
      assert.equal(event.root_task_id, rootId);
      seqs.push(event.seq);
      for (const wait of waits.filter((w) => seqs.length >= w.n)) wait.resolve();
    },
    options,
  );
  const reached = (n: number) =>
    new Promise<void>((resolve) => (seqs.length >= n ? resolve() : waits.push({ n, resolve })));
  return { seqs, following, reached };
}

/** The hub as a source whose log reads wait until `open()`, counting them. */
function gatedSource(parts: Parts) {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const source = {
    reads: 0,
    subscribe: parts.hub.subscribe,
    async events(rootId: string, after: number, limit: number) {
      source.reads++;
      await gate;
      return parts.hub.events(rootId, after, limit);
    },
  };
  return { source, open };
}

async function withTrees(t: Parameters<typeof engineParts>[0]) {
  const parts = await engineParts(t);
  await parts.insert([{ id: 'r' }]);
  await parts.insert([{ id: 'other' }]);
  return parts;
}

test('replays the logged events after `after`, then delivers the live ones, in order', async (t) => {
  const parts = await withTrees(t);
  await append(parts.transact, 'r', 'one', 'two', 'three');
  const { seqs, following, reached } = follow(parts.hub, 'r', 1);
  await following.replayed;
  assert.deepEqual(seqs, [2, 3]);
  await append(parts.transact, 'other', 'not followed');
  await append(parts.transact, 'r', 'four', 'five');
  await reached(4);
  assert.deepEqual(seqs, [2, 3, 4, 5]);
  following.stop();
});

test('an event committed while the log is read is delivered once, in its place', async (t) => {
  const parts = await withTrees(t);
  await append(parts.transact, 'r', 'one');
  const { source, open } = gatedSource(parts);
  const { seqs, following, reached } = follow(source, 'r', 0);
  await append(parts.transact, 'r', 'two', 'three');
  assert.deepEqual(seqs, [], 'live events wait for the replay');
  open();
  await following.replayed;
  assert.deepEqual(seqs, [1, 2, 3]);
  await append(parts.transact, 'r', 'four');
  await reached(4);
  assert.deepEqual(seqs, [1, 2, 3, 4]);
  following.stop();
});

test('a live event after a gap (events written by another server) makes it read the log', async (t) => {
  const parts = await withTrees(t);
  const { seqs, following, reached } = follow(parts.hub, 'r', 0);
  await following.replayed;
  await append(elsewhere(parts), 'r', 'there');
  await append(parts.transact, 'r', 'here');
  await reached(2);
  assert.deepEqual(seqs, [1, 2]);
  following.stop();
});

test('news that the log grew elsewhere makes it read the log', async (t) => {
  const parts = await withTrees(t);
  const { seqs, following, reached } = follow(parts.hub, 'r', 0);
  await following.replayed;
  await append(elsewhere(parts), 'r', 'one', 'two');
  assert.deepEqual(seqs, []);
  parts.hub.news('r', 2);
  await reached(2);
  assert.deepEqual(seqs, [1, 2]);
  following.stop();
});

test('without replay it reads no log: the live events after `after` only', async (t) => {
  const parts = await withTrees(t);
  await append(parts.transact, 'r', 'one', 'two');
  const { source } = gatedSource(parts);
  const { seqs, following, reached } = follow(source, 'r', 2, { replay: false });
  await append(parts.transact, 'r', 'three');
  await reached(1);
  assert.deepEqual(seqs, [3]);
  assert.equal(source.reads, 0);
  following.stop();
});

test('stop ends the delivery', async (t) => {
  const parts = await withTrees(t);
  const { seqs, following } = follow(parts.hub, 'r', 0);
  await following.replayed;
  following.stop();
  await append(parts.transact, 'r', 'one');
  parts.hub.news('r', 1);
  assert.deepEqual(seqs, []);
  assert.deepEqual(parts.hub.followed(), [], 'it no longer listens');
});

test('the hub shares a read of the log among followers reading from the same seq', async (t) => {
  const parts = await withTrees(t);
  await append(parts.transact, 'r', 'one');
  let reads = 0;
  const hub = createTreeHub((rootId, after, limit) => {
    reads++;
    return parts.repo.events(rootId, after, limit);
  });
  const [first, second] = await Promise.all([hub.events('r', 0, 10), hub.events('r', 0, 10)]);
  assert.equal(reads, 1);
  assert.deepEqual(first, second);
  await hub.events('r', 0, 10);
  assert.equal(reads, 2, 'a read that starts after the last one ended queries again');
});
