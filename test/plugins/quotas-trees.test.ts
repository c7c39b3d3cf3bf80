/**
 * The quotas plugin's daily tree quota over HTTP with authentication on: the run after the limit
 * is refused with 429 / -32001 and the original's data, per user, administrators exempt; with
 * `over_limit: demo` it runs as a demo (unless the request brings its own LLM key).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, rpc, testApp } from '../helpers.ts';
import { assertRefused, nextMidnight, quotaServer } from './quotas-setup.ts';

test('the run after trees_per_day is refused with 429 and -32001; other users and admins are not limited', async (t) => {
  const { url, as, token } = await quotaServer(t, { trees_per_day: 2 });
  const alice = as('alice');
  for (const id of ['a1', 'a2']) assert.equal((await alice.run(id)).status, 200);
  const refused = await alice.run('a3');
  assertRefused(refused, 'trees', 2, 2);
  assert.equal((await alice.ok<{ status: string }>('tasks.get', { task_id: 'a3' })).status, 'pending', 'nothing ran');
  assertRefused(await alice.call('tasks.execute', { task_id: 'a3' }), 'trees', 2, 2);
  // New tasks to create and run at once, refused: nothing of them is left (a3 above was created on its own).
  const tasks = [{ id: 'a4', name: 'a4', schemas: { method: 'echo' } }];
  assertRefused(await alice.call('tasks.execute', { tasks }), 'trees', 2, 2);
  const onRoot = await rpc(
    url,
    '/',
    { jsonrpc: '2.0', id: 1, method: 'execute_task_tree', params: { tasks } },
    { authorization: `Bearer ${await token('alice')}` },
  );
  assertRefused({ status: onRoot.status, ...(onRoot.body as object) } as never, 'trees', 2, 2);
  assert.equal((await alice.call('tasks.get', { task_id: 'a4' })).result, null, 'no tree a4');

  const bob = as('bob');
  assert.equal((await bob.run('b1')).error, undefined, "alice's count is hers");
  const root = as('root');
  for (const id of ['r1', 'r2', 'r3']) assert.equal((await root.run(id)).error, undefined, 'admins are exempt');

  assert.deepEqual(await alice.ok('quotas.status', {}), {
    enabled: true,
    user_id: 'alice',
    day: new Date().toISOString().slice(0, 10),
    exempt: false,
    trees: { used: 2, limit: 2 },
    tokens: { used: 0, limit: null },
    cost_usd: { used: 0, limit: null },
    reset_at: nextMidnight(),
    over_limit: 'refuse',
  });
  const rootStatus = await root.ok<{ exempt: boolean; trees: unknown }>('quotas.status', {});
  assert.deepEqual([rootStatus.exempt, rootStatus.trees], [true, { used: 0, limit: 2 }], 'exempt runs are not counted');
  assert.deepEqual((await root.ok<{ trees: unknown }>('quotas.status', { user_id: 'bob' })).trees, {
    used: 1,
    limit: 2,
  });
  const forbidden = await alice.call('quotas.status', { user_id: 'bob' });
  assert.equal(forbidden.error?.code, -32003, 'users see only their own quotas');

  const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${await token('root')}` } });
  assert.match(await metrics.text(), /^apflow_quota_refusals_total\{reason="trees"\} 4$/m);
});

test('a run of a tree that is running already is not counted again, nor refused at the limit', async (t) => {
  const { as } = await quotaServer(t, { trees_per_day: 2 });
  const alice = as('alice');
  const running = async (id: string) => {
    await alice.create(id, 'hang');
    const answer = alice.call('tasks.execute', { task_id: id });
    await eventually(
      async () => (await alice.ok<{ status: string }>('tasks.get', { task_id: id })).status === 'in_progress',
    );
    return { done: answer }; // not the promise itself: an async function would wait for it
  };
  const againStatus = async (id: string) => {
    const again = await alice.call('tasks.execute', { task_id: id });
    assert.equal(again.error, undefined, JSON.stringify(again.error));
    return (again.result as Record<string, unknown>).status;
  };
  const trees = async () => (await alice.ok<{ trees: unknown }>('quotas.status', {})).trees;
  const first = await running('long');
  assert.equal(await againStatus('long'), 'already_running');
  assert.deepEqual(await trees(), { used: 1, limit: 2 }, 'counted, then given back');
  const second = await running('long2');
  assert.equal(await againStatus('long'), 'already_running', 'at the limit: answered, not refused');
  assert.deepEqual(await trees(), { used: 2, limit: 2 });
  await alice.ok('tasks.cancel', { task_ids: ['long', 'long2'] });
  await Promise.all([first.done, second.done]);
  assertRefused(await alice.run('next'), 'trees', 2, 2);
});

test('over_limit: demo runs the tree in demo mode, but refuses a request that brings its own LLM key', async (t) => {
  const { url, as, token } = await quotaServer(t, { trees_per_day: 1, over_limit: 'demo' });
  const alice = as('alice');
  assert.equal((await alice.run('d1')).error, undefined);
  const demo = await alice.run('d2');
  assert.equal(demo.status, 200, JSON.stringify(demo));
  const task = await alice.ok<{ status: string; result: Record<string, unknown> }>('tasks.get', { task_id: 'd2' });
  assert.equal(task.status, 'completed');
  assert.equal(task.result.demo_mode, true);
  assertRefused(await alice.run('d3', { 'x-llm-api-key': 'sk-test-own-key' }), 'trees', 1, 1);
  assert.deepEqual((await alice.ok<{ trees: unknown }>('quotas.status', {})).trees, { used: 1, limit: 1 });
  const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${await token('root')}` } });
  assert.match(await metrics.text(), /^apflow_quota_demo_runs_total\{reason="trees"\} 1$/m);
});

test('quotas are off by default; bad settings stop the start with a message naming the setting', async (t) => {
  const app = await testApp(t, {});
  const status = await app.inject({
    method: 'POST',
    url: '/tasks',
    payload: { jsonrpc: '2.0', id: 1, method: 'quotas.status', params: {} },
  });
  const off = status.json().result as Record<string, unknown>;
  assert.deepEqual([off.enabled, off.user_id, off.trees], [false, null, { used: 0, limit: null }]);

  const refusal = async (quotas: Record<string, unknown>) => {
    const error = await testApp(t, { quotas }).then(
      () => assert.fail(`quotas ${JSON.stringify(quotas)} started`),
      (caught: unknown) => caught as Error,
    );
    return error.message;
  };
  assert.match(await refusal({ over_limit: 'maybe' }), /quotas\.over_limit/);
  assert.match(await refusal({ enabled: true, trees_per_day: -1 }), /quotas\.trees_per_day: must be >= 0/);
  assert.match(await refusal({ enabled: true, tokens_per_day: 'lots' }), /quotas\.tokens_per_day/);
  assert.match(await refusal({ enabled: true, per_day: 3 }), /quotas\.per_day: unknown key/);
  assert.match(await refusal({ enabled: true }), /quotas\.enabled is true but no limit is set/);
});

test('without authentication, trees without an owner share one budget, or none with anonymous: exempt', async (t) => {
  const runs = async (anonymous: string) => {
    const app = await testApp(t, { quotas: { enabled: true, trees_per_day: 1, anonymous } });
    const statuses: number[] = [];
    for (const id of ['n1', 'n2']) {
      const call = (method: string, params: unknown) =>
        app.inject({ method: 'POST', url: '/tasks', payload: { jsonrpc: '2.0', id, method, params } });
      await call('tasks.create', { tasks: [{ id, name: id, schemas: { method: 'system_info_executor' } }] });
      statuses.push((await call('tasks.execute', { task_id: id })).statusCode);
    }
    return statuses;
  };
  assert.deepEqual(await runs('shared'), [200, 429]);
  assert.deepEqual(await runs('exempt'), [200, 200]);
});
