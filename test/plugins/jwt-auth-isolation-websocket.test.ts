import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { type Json, swapped, resultOf, errorOf, connect, world, taskIds } from './jwt-auth-isolation-setup.ts';

/**
 * User isolation with the jwt-auth plugin on, over every transport (HTTP JSON-RPC, REST, SSE,
 * WebSocket, A2A): another user's task is answered exactly like an unknown one, listings hold
 * only the caller's tasks, naming another user is forbidden, and an administrator may do it all.
 */

test("WebSocket: messages before auth get -32001; {action: 'auth'} or ?token= makes them the user's; bob cannot read or subscribe to alice's tree, alice and root can", async (t) => {
  const w = await world(t);
  const ghost = `ghost-${randomUUID()}`;
  const bob = await connect(w.url);
  t.after(() => bob.socket.close());
  errorOf(await bob.call('tasks.get', { task_id: w.ids.tree }), -32001, 'anonymous tasks.get');
  errorOf(await bob.call('tasks.list', {}), -32001, 'anonymous tasks.list');
  errorOf(await bob.call('system.health', {}), -32001, 'anonymous system.health');
  assert.equal(
    (await bob.action({ action: 'subscribe', task_id: w.ids.executed }, (m) => m.type === 'error')).code,
    -32001,
    'anonymous subscribe',
  );
  await bob.action({ action: 'ping' }, (m) => m.type === 'pong');
  assert.equal(
    (await bob.action({ action: 'auth', token: 'not-a-jwt' }, (m) => m.type === 'error')).code,
    -32001,
    'a bad token',
  );
  errorOf(await bob.call('tasks.get', { task_id: w.ids.tree }), -32001, 'still anonymous after a bad token');

  assert.deepEqual(await bob.action({ action: 'auth', token: w.tokens.bob }, (m) => m.type === 'authenticated'), {
    type: 'authenticated',
    user_id: 'bob',
  });
  for (const id of taskIds(w)) {
    assert.equal(
      resultOf(await bob.call('tasks.get', { task_id: id }), 'bob ws tasks.get'),
      null,
      `bob ws tasks.get ${id}`,
    );
    for (const [method, params] of [
      ['tasks.tree', (x: string) => ({ task_id: x })],
      ['tasks.update', (x: string) => ({ task_id: x, name: 'bob' })],
      ['tasks.execute', (x: string) => ({ task_id: x })],
      ['tasks.cancel', (x: string) => ({ task_ids: [x] })],
    ] as [string, (x: string) => Json][]) {
      const theirs = await bob.call(method, params(id));
      assert.deepEqual(
        swapped(theirs, id, ghost),
        swapped(await bob.call(method, params(ghost)), id, ghost),
        `bob ws ${method} ${id}: same as an unknown id`,
      );
    }
    const refused = await bob.action(
      { action: 'subscribe', task_id: id },
      (m) => m.type === 'error' || m.type === 'subscribed',
    );
    assert.deepEqual(refused, { type: 'error', task_id: id, error: `Task ${id} not found` }, `bob ws subscribe ${id}`);
    const unknown = await bob.action(
      { action: 'subscribe', task_id: ghost },
      (m) => m.type === 'error' || m.type === 'subscribed',
    );
    assert.deepEqual(refused, swapped(unknown, ghost, id));
  }
  const mine = resultOf<{ id: string; user_id: string }>(
    await bob.call('tasks.create', [{ name: 'ws-bob', schemas: { method: 'noop' } }]),
    'bob ws create',
  );
  assert.equal(mine.user_id, 'bob', 'a task created over the socket is stamped with its user');
  assert.deepEqual(
    resultOf<{ id: string }[]>(await bob.call('tasks.list', {}), 'bob ws list').map((row) => row.id),
    [mine.id],
  );
  errorOf(await bob.call('tasks.list', { user_id: 'alice' }), -32003, 'bob ws tasks.list for alice');
  assert.equal(resultOf<Json>(await bob.call('system.health', {}), 'bob ws health').running_tasks_count, 0);

  // alice with ?token=: authenticated from the start; runs and follows her tree.
  const alice = await connect(w.url, `?token=${encodeURIComponent(w.tokens.alice)}`);
  t.after(() => alice.socket.close());
  assert.equal(resultOf<Json>(await alice.call('tasks.get', { task_id: w.ids.tree }), 'alice ws get').user_id, 'alice');
  assert.equal(
    (
      await alice.action(
        { action: 'subscribe', task_id: w.ids.tree },
        (m) => m.type === 'subscribed' || m.type === 'error',
      )
    ).type,
    'subscribed',
  );
  assert.equal(
    resultOf<Json>(await alice.call('tasks.execute', { task_id: w.ids.tree }), 'alice ws execute').status,
    'completed',
  );
  await alice.next((m) => m.type === 'stream_end' && m.task_id === w.ids.tree);
  assert.ok(
    alice.messages.some((m) => m.type === 'final' && m.root_task_id === w.ids.tree),
    'alice got her events',
  );

  // root authenticates with a message and follows alice's trees.
  const root = await connect(w.url);
  t.after(() => root.socket.close());
  assert.deepEqual(await root.action({ action: 'auth', token: w.tokens.root }, (m) => m.type === 'authenticated'), {
    type: 'authenticated',
    user_id: 'root',
  });
  assert.equal(resultOf<Json>(await root.call('tasks.get', { task_id: w.ids.hang }), 'root ws get').user_id, 'alice');
  for (const id of [w.ids.executed, w.ids.kid]) {
    assert.equal(
      (await root.action({ action: 'subscribe', task_id: id }, (m) => m.type === 'subscribed' || m.type === 'error'))
        .type,
      'subscribed',
      `root subscribes to ${id}`,
    );
  }
  await root.next((m) => m.type === 'stream_end' && m.task_id === w.ids.executed);
  await root.next((m) => m.type === 'stream_end' && m.task_id === w.ids.tree);
  assert.equal(
    (
      await root.action(
        { action: 'subscribe', task_id: w.ids.hang },
        (m) => m.type === 'subscribed' || m.type === 'error',
      )
    ).type,
    'subscribed',
  );
  assert.equal(
    resultOf<Json[]>(await root.call('tasks.cancel', { task_ids: [w.ids.hang] }), 'root ws cancel')[0]?.task_id,
    w.ids.hang,
  );
  const final = await root.next((m) => m.type === 'final' && m.root_task_id === w.ids.hang);
  assert.equal(final.status, 'cancelled');

  // None of alice's events ever reached bob's socket.
  assert.deepEqual(
    bob.messages.filter((m) => typeof m.seq === 'number'),
    [],
    'bob received no events',
  );
});
