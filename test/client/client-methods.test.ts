/**
 * `apflow/client` against a real server, one case per JSON-RPC method: the server's own list of
 * methods (GET /openapi.json) is the table's index, so a method the server gains without a client
 * binding (or without a case here) fails this test.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  InvalidParamsError,
  METHODS,
  NotFoundError,
  PermissionError,
  type ApflowClient,
  type MethodName,
} from 'apflow/client';
import { clientServer } from './client-setup.ts';

/** What the cases share: the client, and ids made by earlier cases. */
interface State {
  client: ApflowClient;
  ids: Record<string, string>;
}

const tree = [
  { id: 'c-root', name: 'root', schemas: { method: 'echo' }, inputs: { say: 'hi' } },
  { id: 'c-child', name: 'child', parent_id: 'c-root', schemas: { method: 'echo' }, inputs: { n: 1 } },
];

/** One case per method, in the order they run (later cases use what earlier ones made). */
const CASES: Record<MethodName, (state: State) => Promise<void>> = {
  'tasks.create': async ({ client }) => {
    const created = await client.tasks.create({ tasks: tree });
    assert.equal(created.id, 'c-root');
    assert.equal(created.user_id, 'alice');
    assert.equal(created.children?.[0]?.id, 'c-child');
  },
  'tasks.get': async ({ client }) => {
    const root = await client.tasks.get({ task_id: 'c-root' });
    assert.equal(root?.counts?.total, 2);
    assert.equal(await client.tasks.get({ task_id: 'nobody' }), null);
  },
  'tasks.detail': async ({ client }) =>
    assert.equal((await client.tasks.detail({ task_id: 'c-child' }))?.name, 'child'),
  'tasks.tree': async ({ client }) => {
    const whole = await client.tasks.tree({ task_id: 'c-child' });
    assert.deepEqual([whole.id, whole.children?.map((child) => child.id)], ['c-root', ['c-child']]);
  },
  'tasks.list': async ({ client }) =>
    assert.deepEqual(
      (await client.tasks.list()).map((task) => task.id),
      ['c-root'],
    ),
  'tasks.children': async ({ client }) =>
    assert.deepEqual(
      (await client.tasks.children({ parent_id: 'c-root' })).map((task) => task.id),
      ['c-child'],
    ),
  'tasks.count': async ({ client }) => {
    const counts = await client.tasks.count();
    assert.equal(counts.total, 2);
    assert.equal(counts.pending, 2);
    assert.equal(counts.user_id, 'alice');
  },
  'tasks.usage': async ({ client }) => {
    assert.deepEqual(await client.tasks.usage({ since: '2026-01-01' }), [], 'no LLM calls yet');
    await assert.rejects(client.tasks.usage({ user_id: 'bob' }), PermissionError);
  },
  'quotas.status': async ({ client }) => {
    const status = await client.quotas.status();
    assert.deepEqual([status.enabled, status.user_id, status.trees.limit], [false, 'alice', null]);
  },
  'tasks.update': async ({ client }) =>
    assert.deepEqual((await client.tasks.update({ task_id: 'c-child', inputs: { n: 2 } })).inputs, { n: 2 }),
  'tasks.execute': async ({ client }) => {
    const answer = await client.tasks.execute({ task_id: 'c-root' });
    assert.equal(answer.status, 'completed');
    assert.deepEqual(answer.result, { say: 'hi' });
  },
  'tasks.copy': async ({ client, ids }) => {
    const copy = await client.tasks.copy({ task_id: 'c-root', children: true });
    assert.ok('id' in copy && copy.id !== 'c-root');
    ids.copy = 'id' in copy ? copy.id : '';
  },
  'tasks.delete': async ({ client, ids }) => {
    const copy = await client.tasks.tree({ task_id: ids.copy as string });
    const child = copy.children?.[0]?.id as string;
    assert.deepEqual(await client.tasks.delete({ task_id: child }), {
      success: true,
      task_id: child,
      deleted_count: 1,
      children_deleted: 0,
    });
  },
  'tasks.resume': async ({ client }) => {
    // Nothing waits for input here: the server's refusal comes back as its typed error.
    await assert.rejects(client.tasks.resume({ task_id: 'c-root', input: 1 }), (error) => {
      assert.equal((error as { code: number }).code, -32005);
      return true;
    });
  },
  'tasks.generate': async ({ client }) =>
    assert.rejects(client.tasks.generate({ requirement: 'plan a trip' }), InvalidParamsError),
  'tasks.cancel': async ({ client }) => {
    const [answer] = await client.tasks.cancel({ task_ids: ['c-root'] });
    assert.equal(answer?.task_id, 'c-root');
    assert.equal(answer?.force, false);
  },
  'tasks.running.cancel': async ({ client }) =>
    assert.equal((await client.tasks.running.cancel({ task_ids: 'nobody' }))[0]?.task_id, 'nobody'),
  'tasks.running.list': async ({ client }) => assert.deepEqual(await client.tasks.running.list(), []),
  'tasks.running.status': async ({ client }) => {
    const [status] = await client.tasks.running.status({ task_ids: ['c-root'] });
    assert.deepEqual([status?.status, status?.is_running], ['completed', false]);
  },
  'tasks.running.count': async ({ client }) =>
    assert.deepEqual(await client.tasks.running.count(), { count: 0, user_id: 'alice' }),
  'schedules.create': async ({ client, ids }) => {
    const made = await client.schedules.create({
      name: 'hourly',
      interval_s: 3600,
      tasks: [{ name: 's', schemas: { method: 'echo' } }],
    });
    assert.equal(made.name, 'hourly');
    ids.schedule = made.id;
  },
  'schedules.get': async ({ client, ids }) =>
    assert.equal((await client.schedules.get({ id: ids.schedule as string })).name, 'hourly'),
  'schedules.list': async ({ client, ids }) =>
    assert.deepEqual(
      (await client.schedules.list()).map((row) => row.id),
      [ids.schedule],
    ),
  'tasks.scheduled.list': async ({ client, ids }) =>
    assert.deepEqual(
      (await client.tasks.scheduled.list()).map((row) => row.id),
      [ids.schedule],
    ),
  'tasks.scheduled.due': async ({ client }) => assert.deepEqual(await client.tasks.scheduled.due(), []),
  'schedules.update': async ({ client, ids }) =>
    assert.equal((await client.schedules.update({ id: ids.schedule as string, name: 'daily' })).name, 'daily'),
  'schedules.pause': async ({ client, ids }) =>
    assert.equal((await client.schedules.pause({ id: ids.schedule as string })).enabled, false),
  'schedules.resume': async ({ client, ids }) =>
    assert.equal((await client.schedules.resume({ id: ids.schedule as string })).enabled, true),
  'schedules.trigger': async ({ client, ids }) =>
    assert.ok((await client.schedules.trigger({ id: ids.schedule as string })).root_task_id),
  'tasks.webhook.trigger': async ({ client, ids }) =>
    assert.ok((await client.tasks.webhook.trigger({ id: ids.schedule as string })).root_task_id),
  'schedules.runs': async ({ client, ids }) =>
    assert.equal((await client.schedules.runs({ id: ids.schedule as string })).length, 2),
  'schedules.preview': async ({ client }) =>
    assert.equal((await client.schedules.preview({ interval_s: 60, count: 3 })).fires.length, 3),
  'schedules.delete': async ({ client, ids }) =>
    assert.deepEqual(await client.schedules.delete({ id: ids.schedule as string }), {
      id: ids.schedule,
      deleted: true,
    }),
  'system.health': async ({ client }) => assert.equal((await client.system.health()).status, 'healthy'),
  'system.executors': async ({ client }) =>
    assert.ok((await client.system.executors()).executors.some((executor) => executor.id === 'echo')),
  execute_task_tree: async ({ client }) => {
    const answer = await client.execute_task_tree({
      tasks: [{ name: 'one', schemas: { method: 'echo' }, inputs: { a: 1 } }],
    });
    assert.deepEqual([answer.status, answer.result], ['completed', { a: 1 }]);
  },
};

describe('apflow/client: one typed method per JSON-RPC method', () => {
  test('every method the server lists has a binding and a case, and each answers through it', async (t) => {
    const { url, alice } = await clientServer(t);
    const document = (await (await fetch(`${url}/openapi.json`)).json()) as {
      paths: Record<string, { post?: { 'x-jsonrpc-methods'?: { method: string }[] } }>;
    };
    const served = Object.entries(document.paths).flatMap(([path, item]) =>
      (item.post?.['x-jsonrpc-methods'] ?? []).map(({ method }) => ({ path, method })),
    );
    assert.ok(served.length >= 30, `the server lists ${served.length} methods`);
    for (const { path, method } of served) {
      const info = (METHODS as Record<string, { endpoint: string }>)[method];
      assert.ok(info, `${method} (${path}) has no client binding in client/method-table.ts`);
      assert.equal(
        `/${info.endpoint}`,
        path,
        `${method} is bound to /${info.endpoint}, the server serves it on ${path}`,
      );
      assert.ok(method in CASES, `${method} has no case in this test`);
    }
    // Every binding is a function at the dotted path of its method's name.
    for (const method of Object.keys(METHODS)) {
      const bound = method.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], alice);
      assert.equal(typeof bound, 'function', `client.${method} is not a function`);
      assert.ok(
        served.some((entry) => entry.method === method),
        `the client binds ${method}, the server lists no such method`,
      );
    }
    const state: State = { client: alice, ids: {} };
    for (const [method, run] of Object.entries(CASES)) await t.test(method, () => run(state));
  });

  test('call() reaches any method, and an unknown one is a typed error', async (t) => {
    const { alice } = await clientServer(t);
    assert.equal(((await alice.call('tasks.count')) as { total: number }).total, 0);
    assert.equal(
      ((await alice.call('system.health', {}, { endpoint: 'system' })) as { status: string }).status,
      'healthy',
    );
    await assert.rejects(alice.call('tasks.nothing'), (error) => {
      assert.equal((error as { code: number }).code, -32601);
      assert.equal((error as Error).name, 'MethodNotFoundError');
      return true;
    });
    await assert.rejects(alice.tasks.tree({ task_id: 'nobody' }), NotFoundError);
  });
});
