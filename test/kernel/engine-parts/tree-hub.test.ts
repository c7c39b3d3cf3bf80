import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TaskEvent } from 'apflow';
import { followTree, type TreeNews } from '../../../kernel/engine/follow-tree.ts';
import { createTreeHub } from '../../../kernel/engine/tree-hub.ts';

const event = (root: string, seq: number): TaskEvent => ({
  type: 'progress',
  task_id: root,
  root_task_id: root,
  status: 'in_progress',
  progress: 0,
  timestamp: new Date(0).toISOString(),
  seq,
});

test("the hub hands each listener a commit's events of its tree together, once the announce loop ended", async () => {
  const hub = createTreeHub(async () => []);
  const heard: TreeNews[] = [];
  const other: TreeNews[] = [];
  hub.subscribe('r', (news) => heard.push(news));
  hub.subscribe('s', (news) => other.push(news));
  const [r1, r2, s1] = [event('r', 1), event('r', 2), event('s', 1)];
  hub.publish(r1);
  hub.publish(s1);
  hub.publish(r2);
  hub.publish(event('nobody', 1));
  assert.deepEqual(heard, [], 'nothing during the loop');
  await Promise.resolve();
  assert.deepEqual(heard, [[r1, r2]]);
  assert.deepEqual(other, [s1], 'a burst of one is the event itself');
});

test('a follower gets burst events once and in order, with a gap read from the log', async () => {
  const log = [1, 2, 3, 4, 5].map((seq) => event('r', seq));
  const hub = createTreeHub(async (_root, after) => log.filter((each) => each.seq > after));
  const seqs: number[] = [];
  const following = followTree(hub, 'r', 0, (each) => seqs.push(each.seq), {
    replay: false,
  });
  hub.publish(log[0] as TaskEvent);
  hub.publish(log[1] as TaskEvent);
  await Promise.resolve();
  // seq 3 was committed elsewhere: the burst 4–5 makes the follower read the log.
  hub.publish(log[3] as TaskEvent);
  hub.publish(log[4] as TaskEvent);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
  following.stop();
  hub.publish(event('r', 6));
  await Promise.resolve();
  assert.deepEqual(seqs, [1, 2, 3, 4, 5], 'nothing after stop');
});
