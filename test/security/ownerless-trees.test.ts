import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { repoRoot, rpc, tempProject, testApp } from '../helpers.ts';

/**
 * Trees that belong to nobody (`user_id` null: the example trees, anything made while
 * authentication was off) are shared: with authentication on, every user may read them, but only
 * an administrator may change them; a user running one runs their own copy, and every copy belongs
 * to who made it. Otherwise bob could repoint an example at his own listener and read alice's run.
 */

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
const SECRET = 'ownerless-trees-test-secret-0123456789ab';
const EXAMPLE = 'example-system-info';
const CHILD = 'example-system-info-cpu';

type Who = 'alice' | 'bob' | 'root';
interface Envelope {
  result?: unknown;
  error?: { code: number; message: string };
}
type Json = Record<string, unknown>;

async function server(t: TestContext, inline: Json = {}) {
  const app = await testApp(t, {
    auth: { jwt_secret: SECRET },
    executors: { dirs: [fixtures] },
    examples: { auto_init: true },
    ...inline,
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const jwt = app.service('jwt-auth');
  assert.ok(jwt);
  const tokens: Record<Who, string> = {
    alice: await jwt.mint('alice', [], '1h'),
    bob: await jwt.mint('bob', [], '1h'),
    root: await jwt.mint('root', ['admin'], '1h'),
  };
  const auth = (who: Who) => ({ authorization: `Bearer ${tokens[who]}` });
  const call = async (who: Who, path: string, method: string, params: unknown, headers: Record<string, string> = {}) =>
    (await rpc(url, path, { jsonrpc: '2.0', id: 1, method, params }, { ...auth(who), ...headers })).body as Envelope;
  const tasks = (who: Who, method: string, params: unknown) => call(who, '/tasks', method, params);
  return { app, url, auth, call, tasks };
}

function resultOf<T = Json>(answer: Envelope, what: string): T {
  assert.equal(answer.error, undefined, `${what}: ${JSON.stringify(answer.error)}`);
  return answer.result as T;
}

function refused(answer: Envelope, what: string): void {
  assert.equal(answer.error?.code, -32003, `${what}: ${JSON.stringify(answer)}`);
  assert.match(answer.error?.message ?? '', /belongs to no user: only an administrator may change it; copy it/, what);
}

test('with auth on, a user may read an ownerless tree but not update, delete or cancel it', async (t) => {
  const s = await server(t);
  assert.equal((await s.app.tasks.get(EXAMPLE))?.user_id, null);
  for (const id of [EXAMPLE, CHILD]) {
    assert.equal(
      resultOf<Json>(await s.tasks('bob', 'tasks.get', { task_id: id }), 'get').id,
      id,
      'reads stay allowed',
    );
    // bob's attack of the issue: repoint an example task at his own listener.
    refused(
      await s.tasks('bob', 'tasks.update', {
        task_id: id,
        schemas: { method: 'rest_executor' },
        inputs: { url: 'http://127.0.0.1:9/steal' },
      }),
      `update ${id}`,
    );
    refused(await s.tasks('bob', 'tasks.update', { task_id: id, name: 'mine now' }), `rename ${id}`);
  }
  refused(await s.tasks('bob', 'tasks.delete', { task_id: CHILD }), 'delete');
  const [cancel] = resultOf<Json[]>(await s.tasks('bob', 'tasks.cancel', { task_ids: [EXAMPLE] }), 'cancel');
  assert.equal(cancel?.status, 'failed');
  assert.match(String(cancel?.message), /belongs to no user/);
  const row = await s.app.tasks.get(CHILD);
  assert.equal(row?.schemas?.method, 'system_info_executor', 'unchanged');
  assert.equal(row?.name, 'Example: cpu info');

  // An administrator may change it; so may anyone while authentication is off (below).
  const renamed = resultOf<Json>(
    await s.tasks('root', 'tasks.update', { task_id: CHILD, name: 'Example: CPU' }),
    'admin update',
  );
  assert.equal(renamed.name, 'Example: CPU');
  assert.equal(
    resultOf<Json>(await s.tasks('root', 'tasks.delete', { task_id: 'example-rest-health' }), 'admin delete').success,
    true,
  );
});

test('a user running an ownerless tree runs their own copy; the answer names it, and others cannot read it', async (t) => {
  const s = await server(t);
  const ran = resultOf<Json>(await s.tasks('bob', 'tasks.execute', { task_id: EXAMPLE }), 'bob execute');
  assert.equal(ran.status, 'completed');
  assert.notEqual(ran.root_task_id, EXAMPLE, 'a copy ran');
  assert.equal(ran.task_id, ran.root_task_id);
  assert.equal(ran.original_task_id, EXAMPLE);
  const copy = await s.app.tasks.get(ran.root_task_id as string);
  assert.equal(copy?.user_id, 'bob');
  assert.equal(copy?.original_task_id, EXAMPLE);
  assert.equal(copy?.status, 'completed');
  const copied = await s.app.tasks.tree(ran.root_task_id as string);
  assert.equal(copied.length, 4, 'the whole tree');
  assert.ok(copied.every((row) => row.user_id === 'bob' && row.status === 'completed'));
  assert.equal((await s.app.tasks.get(EXAMPLE))?.status, 'pending', 'the shared tree did not run');
  assert.equal(
    resultOf(await s.tasks('alice', 'tasks.get', { task_id: ran.root_task_id }), 'alice get'),
    null,
    "bob's run is his",
  );

  // A task inside the tree: the copy of that task runs, in a copy of the whole tree.
  const part = resultOf<Json>(await s.tasks('alice', 'tasks.execute', { task_id: CHILD }), 'alice execute child');
  assert.equal(part.original_task_id, CHILD);
  const partCopy = await s.app.tasks.get(part.task_id as string);
  assert.equal(partCopy?.original_task_id, CHILD);
  assert.equal(partCopy?.user_id, 'alice');
  assert.equal(partCopy?.status, 'completed');
  assert.equal((await s.app.tasks.get(part.root_task_id as string))?.original_task_id, EXAMPLE);

  // The dashboard's "Run an example" streams: the first frame already names the copy.
  const response = await fetch(`${s.url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...s.auth('alice') },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tasks.execute',
      params: { task_id: EXAMPLE, use_streaming: true },
    }),
  });
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let buffer = '';
  while (!buffer.includes('\n\n')) buffer += new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  const first = JSON.parse(buffer.slice(buffer.indexOf('data: ') + 6, buffer.indexOf('\n\n'))) as { result: Json };
  assert.equal(first.result.original_task_id, EXAMPLE);
  assert.notEqual(first.result.root_task_id, EXAMPLE);
  assert.equal((await s.app.tasks.get(first.result.root_task_id as string))?.user_id, 'alice');

  // An administrator runs the shared tree itself.
  const admin = resultOf<Json>(await s.tasks('root', 'tasks.execute', { task_id: EXAMPLE }), 'admin execute');
  assert.equal(admin.root_task_id, EXAMPLE);
  assert.equal(admin.original_task_id, undefined);
  assert.equal((await s.app.tasks.get(EXAMPLE))?.status, 'completed');
});

test('copies belong to who made them; only an administrator may name another owner', async (t) => {
  const s = await server(t);
  const bobs = resultOf<Json>(await s.tasks('bob', 'tasks.copy', { task_id: EXAMPLE, copy_mode: 'full' }), 'bob copy');
  assert.equal(bobs.user_id, 'bob');
  assert.ok((await s.app.tasks.tree(bobs.id as string)).every((row) => row.user_id === 'bob'));
  assert.equal(resultOf(await s.tasks('alice', 'tasks.get', { task_id: bobs.id }), 'alice reads bob copy'), null);
  // bob's copy is his to change.
  assert.equal(
    resultOf<Json>(await s.tasks('bob', 'tasks.update', { task_id: bobs.id, name: 'mine' }), 'bob update copy').name,
    'mine',
  );
  // Unsaved copies name the owner too.
  const unsaved = resultOf<{ tasks: Json[] }>(
    await s.tasks('bob', 'tasks.copy', { task_id: EXAMPLE, save: false }),
    'unsaved',
  );
  assert.ok(unsaved.tasks.every((task) => task.user_id === 'bob'));

  for (const user_id of ['alice', null]) {
    const answer = await s.tasks('bob', 'tasks.copy', { task_id: EXAMPLE, user_id });
    assert.equal(answer.error?.code, -32003, `bob copies for ${String(user_id)}`);
  }
  const admins = resultOf<Json>(await s.tasks('root', 'tasks.copy', { task_id: EXAMPLE }), 'admin copy');
  assert.equal(admins.user_id, 'root');
  assert.equal(
    resultOf<Json>(await s.tasks('root', 'tasks.copy', { task_id: EXAMPLE, user_id: 'alice' }), 'admin for alice')
      .user_id,
    'alice',
  );
  assert.equal(
    resultOf<Json>(await s.tasks('root', 'tasks.copy', { task_id: EXAMPLE, user_id: null }), 'admin shared').user_id,
    null,
  );

  // copy_execution of a shared tree: the run's copy is the caller's.
  const run = resultOf<Json>(
    await s.tasks('bob', 'tasks.execute', { task_id: EXAMPLE, copy_execution: true, copy_children: true }),
    'copy_execution',
  );
  assert.equal(run.original_task_id, EXAMPLE);
  assert.equal((await s.app.tasks.get(run.root_task_id as string))?.user_id, 'bob');
});

test('over A2A: operations go through the same rules; an ownerless A2A task is read-only to users', async (t) => {
  const dir = tempProject(t);
  const database = { url: `sqlite:${join(dir, 'db.sqlite')}` };
  const message = (parts: unknown[], extra: Json = {}) => ({
    message: { messageId: randomUUID(), role: 'ROLE_USER', parts, ...extra },
  });
  const V1 = { 'a2a-version': '1.0' };
  // Made while authentication was off: it belongs to nobody.
  const open = await testApp(t, { database, executors: { dirs: [fixtures] } });
  const openUrl = (await open.listen({ host: '127.0.0.1', port: 0 })).url;
  const waiting = (
    (
      await rpc(
        openUrl,
        '/',
        { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: message([{ text: 'hello' }]) },
        V1,
      )
    ).body as { result: { task: { id: string } } }
  ).result.task.id;
  await open.close();

  const s = await server(t, { database });
  const a2a = (who: Who, method: string, params: unknown) => s.call(who, '/', method, params, V1);
  assert.equal(resultOf<{ id: string }>(await a2a('bob', 'GetTask', { id: waiting }), 'bob reads').id, waiting);
  const tree = { data: { tasks: [{ name: 'mine', schemas: { method: 'echo' } }] } };
  for (const [method, params] of [
    ['SendMessage', message([tree], { taskId: waiting })],
    ['CancelTask', { id: waiting }],
    ['CreateTaskPushNotificationConfig', { taskId: waiting, url: 'https://example.com/hook' }],
  ] as const) {
    const answer = await a2a('bob', method, params);
    assert.equal(answer.error?.code, -32004, `bob ${method}: ${JSON.stringify(answer)}`);
    assert.match(answer.error?.message ?? '', /belongs to no user: only an administrator may change it/);
  }
  assert.equal(
    resultOf<{ status: { state: string } }>(await a2a('root', 'CancelTask', { id: waiting }), 'admin cancels').status
      .state,
    'TASK_STATE_CANCELED',
  );

  // Operations named in metadata.method are the tasks API's, with its rules.
  const update = await a2a(
    'bob',
    'SendMessage',
    message([{ data: { task_id: CHILD, name: 'mine' } }], { metadata: { method: 'tasks.update' } }),
  );
  assert.match(update.error?.message ?? '', /belongs to no user/, JSON.stringify(update));
  // A2A runs only the trees its messages send (the caller's own); a copy made over A2A is the caller's.
  const copied = resultOf<{ message: { parts: { data: { result: Json } }[] } }>(
    await a2a('bob', 'SendMessage', message([{ data: { task_id: EXAMPLE } }], { metadata: { method: 'tasks.copy' } })),
    'bob copies the example over A2A',
  );
  const copy = copied.message.parts[0]?.data.result as Json;
  assert.equal(copy.original_task_id, EXAMPLE);
  assert.equal(copy.user_id, 'bob');
});

test('with authentication off nothing changes: ownerless trees are changed and run in place', async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] }, examples: { auto_init: true } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const tasks = async (method: string, params: unknown) =>
    (await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method, params })).body as Envelope;
  assert.equal(
    resultOf<Json>(await tasks('tasks.update', { task_id: CHILD, name: 'renamed' }), 'update').name,
    'renamed',
  );
  const ran = resultOf<Json>(await tasks('tasks.execute', { task_id: EXAMPLE }), 'execute');
  assert.equal(ran.root_task_id, EXAMPLE);
  assert.equal(ran.original_task_id, undefined);
  const copy = resultOf<Json>(await tasks('tasks.copy', { task_id: EXAMPLE }), 'copy');
  assert.equal(copy.user_id, null, "a copy keeps the original's owner");
});
