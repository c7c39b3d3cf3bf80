/**
 * A tree sent in an A2A message is created and begun in one transaction (as `tasks.execute
 * {tasks}`): its sender's, refused whole when it names another owner, each message its own tree
 * even when they name the same task ids at once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { testDatabases } from '../databases.ts';
import { repoRoot, tempProject, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** A server whose callers say who they are in `x-user` (`root` is an administrator). */
async function server(t: TestContext, database: string) {
  const dir = tempProject(t, {
    'who.ts': `import { definePlugin } from 'apflow';
export default definePlugin({ name: 'who', setup(app) { app.hooks.auth.tapPromise('who', async (req) => { const user = req.headers['x-user']; return typeof user === 'string' ? { user_id: user, roles: user === 'root' ? ['admin'] : [] } : undefined; }); } });`,
  });
  const app = await testApp(t, {
    database: { url: database },
    executors: { dirs: [fixtures] },
    plugins: [join(dir, 'who.ts')],
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = async (user: string, path: string, method: string, params: Record<string, unknown>) => {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0', 'x-user': user },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    return (await response.json()) as { result?: Record<string, unknown>; error?: { code: number; message: string } };
  };
  const send = (user: string, tasks: unknown[]) =>
    call(user, '/', 'SendMessage', {
      message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ data: { tasks } }] },
    });
  return { call, send };
}

type A2aTask = { id: string; status: { state: string }; metadata?: { root_task_id?: string } };

for (const db of testDatabases()) {
  test(`${db.name}: a tree in a message is its sender's; messages naming the same task ids at once each run their own`, async (t) => {
    const { call, send } = await server(t, await db.create(t));
    const tree = [
      { id: 'same-root', name: 'root', schemas: { method: 'noop' } },
      { id: 'same-child', name: 'child', parent_id: 'same-root', schemas: { method: 'echo' }, inputs: { n: 1 } },
    ];
    const answers = await Promise.all(Array.from({ length: 12 }, () => send('ann', tree)));
    const tasks = answers.map((answer) => {
      assert.equal(answer.error, undefined, JSON.stringify(answer.error));
      return answer.result?.task as A2aTask;
    });
    assert.deepEqual(
      tasks.map((task) => task.status.state),
      Array(12).fill('TASK_STATE_COMPLETED'),
    );
    const roots = tasks.map((task) => task.metadata?.root_task_id);
    assert.equal(new Set(roots).size, 12, `one tree per message: ${roots.join(', ')}`);
    assert.ok(roots.includes('same-root'), 'one of them keeps the ids it named');
    for (const root of roots) {
      const got = await call('ann', '/tasks', 'tasks.tree', { task_id: root });
      assert.equal(got.error, undefined, `${root}: ${JSON.stringify(got.error)}`);
      const rootTask = got.result as { user_id: string; status: string; children: { user_id: string }[] };
      assert.deepEqual([rootTask.user_id, rootTask.status], ['ann', 'completed']);
      assert.deepEqual(
        rootTask.children.map((child) => child.user_id),
        ['ann'],
      );
    }
  });

  test(`${db.name}: a tree in a message that names another owner is refused, nothing of it created; an administrator may`, async (t) => {
    const { call, send } = await server(t, await db.create(t));
    const theirs = [{ id: 'for-bob', name: 'for bob', user_id: 'bob', schemas: { method: 'noop' } }];
    const refused = await send('ann', theirs);
    assert.equal(refused.error?.code, -32602, JSON.stringify(refused));
    assert.match(refused.error?.message ?? '', /Permission denied: you can only create tasks for your own tasks/);
    const gone = await call('root', '/tasks', 'tasks.get', { task_id: 'for-bob' });
    assert.equal(gone.result, null, `no tree: ${JSON.stringify(gone)}`);
    // The refused message's task waits for a tree it can run.
    const listed = (await call('ann', '/', 'ListTasks', {})).result?.tasks as A2aTask[];
    assert.deepEqual(
      listed.map((task) => task.status.state),
      ['TASK_STATE_INPUT_REQUIRED'],
    );
    const made = await send('root', theirs);
    assert.equal((made.result?.task as A2aTask).status.state, 'TASK_STATE_COMPLETED', JSON.stringify(made));
    const task = (await call('bob', '/tasks', 'tasks.get', { task_id: 'for-bob' })).result as { user_id: string };
    assert.equal(task.user_id, 'bob');
  });
}
