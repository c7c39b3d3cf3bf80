import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import WebSocket from 'ws';
import { eventually, httpReceiver, repoRoot, rpc, testApp } from '../helpers.ts';

/**
 * User isolation with the jwt-auth plugin on, over every transport (HTTP JSON-RPC, REST, SSE,
 * WebSocket, A2A): another user's task is answered exactly like an unknown one, listings hold
 * only the caller's tasks, naming another user is forbidden, and an administrator may do it all.
 */

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
const SECRET = 'jwt-isolation-test-secret-0123456789abcd';
const V1 = { 'a2a-version': '1.0' };

type Who = 'alice' | 'bob' | 'root';
type Json = Record<string, unknown>;
interface Envelope {
  jsonrpc?: string;
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** The answer with the JSON-RPC id left out. */
function withoutId(value: unknown): Json {
  const { id: _id, ...rest } = value as Json;
  return rest;
}

/** The answer with the JSON-RPC id left out and `from` replaced by `to` everywhere. */
function swapped(value: unknown, from: string, to: string): unknown {
  return JSON.parse(JSON.stringify(withoutId(value)).replaceAll(from, to));
}

function resultOf<T = Json>(answer: Envelope, what: string): T {
  assert.equal(answer.error, undefined, `${what}: unexpected error ${JSON.stringify(answer.error)}`);
  return answer.result as T;
}

function errorOf(answer: Envelope, code: number, what: string): { code: number; message: string } {
  assert.equal(answer.error?.code, code, `${what}: expected error ${code}, got ${JSON.stringify(answer)}`);
  return answer.error as { code: number; message: string };
}

/** An SSE stream read to its end (a finished tree ends with stream_end); non-2xx answers as JSON. */
async function readSse(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body?: unknown; events: Json[] }> {
  const response = await fetch(url, { headers });
  if (!response.ok || !response.body) return { status: response.status, body: await response.json(), events: [] };
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  const events: Json[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of block.split('\n'))
        if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)) as Json);
    }
  }
  return { status: response.status, events };
}

/** A `ws` client on `/ws` (with `query`) that collects messages and waits for one matching a test. */
async function connect(url: string, query = '') {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/ws${query}`);
  const messages: Json[] = [];
  const waiters: { test: (m: Json) => boolean; resolve: (m: Json) => void }[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as Json;
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (!waiter.test(message)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let n = 0;
  const next = (check: (m: Json) => boolean, timeoutMs = 10_000): Promise<Json> => {
    const found = messages.find(check);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no such message within the time; got ${JSON.stringify(messages)}`)),
        timeoutMs,
      );
      waiters.push({ test: check, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  };
  return {
    socket,
    messages,
    next,
    send: (value: unknown) => socket.send(JSON.stringify(value)),
    /** A JSON-RPC request over the socket, answered with the same id. */
    async call(method: string, params: unknown): Promise<Envelope> {
      const id = `ws-${++n}`;
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      return (await next((m) => m.id === id)) as Envelope;
    },
    /** The first answer to an action message after the messages seen so far. */
    async action(value: Json, check: (m: Json) => boolean): Promise<Json> {
      const seen = messages.length;
      socket.send(JSON.stringify(value));
      return next((m) => messages.indexOf(m) >= seen && check(m));
    },
  };
}

/**
 * A server with auth on and alice's things in it: a pending tree (tasks.create), a finished tree
 * (execute_task_tree on POST /), a running tree (hang), a finished A2A task with its tree and an
 * A2A task waiting for input.
 */
async function world(t: TestContext) {
  const app = await testApp(t, {
    auth: { jwt_secret: SECRET },
    executors: { dirs: [fixtures] },
    server: { shutdown_timeout_s: 0 },
    webhooks: { retry_base_s: 0.05, allow_hosts: ['127.0.0.1'] },
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const jwt = app.service('jwt-auth');
  assert.ok(jwt, 'the jwt-auth service');
  const tokens: Record<Who, string> = {
    alice: await jwt.mint('alice', [], '1h'),
    bob: await jwt.mint('bob', [], '1h'),
    root: await jwt.mint('root', ['admin'], '1h'),
  };
  const auth = (who: Who) => ({ authorization: `Bearer ${tokens[who]}` });
  let seq = 0;
  const call = async (
    who: Who,
    path: string,
    method: string,
    params?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Envelope> => {
    const answer = await rpc(
      url,
      path,
      { jsonrpc: '2.0', id: ++seq, method, ...(params === undefined ? {} : { params }) },
      { ...auth(who), ...headers },
    );
    assert.equal(answer.status, 200, `${who} ${path} ${method}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as Envelope;
  };
  const tasks = (who: Who, method: string, params?: unknown) => call(who, '/tasks', method, params);
  const a2a = (who: Who, method: string, params: unknown) => call(who, '/', method, params, V1);
  const getJson = async (who: Who, path: string) => {
    const response = await fetch(`${url}${path}`, { headers: auth(who) });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  const sse = (who: Who, id: string) => readSse(`${url}/tasks/${id}/events`, auth(who));

  const pending = resultOf<Json & { id: string; children: { id: string }[] }>(
    await tasks('alice', 'tasks.create', {
      tasks: [
        { name: 'a-root', schemas: { method: 'echo' }, inputs: { n: 1 } },
        { name: 'a-kid', parent_id: 'a-root', schemas: { method: 'sleep' }, inputs: { ms: 5 } },
      ],
    }),
    'alice tasks.create',
  );
  const kid = pending.children[0]?.id as string;
  const executed = resultOf<{ status: string; root_task_id: string }>(
    await call('alice', '/', 'execute_task_tree', {
      tasks: [{ name: 'x-root', schemas: { method: 'echo' }, inputs: { v: 2 } }],
    }),
    'alice execute_task_tree',
  );
  assert.equal(executed.status, 'completed');
  const hang = resultOf<{ id: string }>(
    await tasks('alice', 'tasks.create', [{ name: 'a-hang', schemas: { method: 'hang' } }]),
    'alice create hang',
  ).id;
  const run = await app.engine.execute(hang);
  void Promise.resolve(run.done).catch(() => undefined);
  await eventually(
    async () =>
      resultOf<Json[]>(await tasks('alice', 'tasks.running.status', { task_ids: [hang] }), 'running.status')[0]
        ?.status === 'in_progress',
  );

  const message = (parts: unknown[], extra: Json = {}) => ({
    message: { messageId: randomUUID(), role: 'ROLE_USER', parts, ...extra },
  });
  const a2aDone = resultOf<{ task: { id: string; status: { state: string }; metadata: { root_task_id: string } } }>(
    await a2a(
      'alice',
      'SendMessage',
      message([{ data: { tasks: [{ name: 'a2a-root', schemas: { method: 'echo' }, inputs: { said: 'hi' } }] } }]),
    ),
    'alice A2A SendMessage (tree)',
  ).task;
  assert.equal(a2aDone.status.state, 'TASK_STATE_COMPLETED');
  const a2aWaiting = resultOf<{ task: { id: string; status: { state: string } } }>(
    await a2a('alice', 'SendMessage', message([{ text: 'hello' }])),
    'alice A2A SendMessage (text)',
  ).task;
  assert.equal(a2aWaiting.status.state, 'TASK_STATE_INPUT_REQUIRED');

  const ids = {
    tree: pending.id,
    kid,
    executed: executed.root_task_id,
    hang,
    a2aRoot: a2aDone.metadata.root_task_id,
    a2aDone: a2aDone.id,
    a2aWaiting: a2aWaiting.id,
  };
  return { app, url, tokens, auth, tasks, call, a2a, getJson, sse, message, ids };
}

type World = Awaited<ReturnType<typeof world>>;

/** alice's task ids of the tasks API (every one of her trees, roots and a child). */
const taskIds = (w: World) => [w.ids.tree, w.ids.kid, w.ids.executed, w.ids.hang, w.ids.a2aRoot];

test('without a token: 401 with WWW-Authenticate: Bearer everywhere but the public routes; JSON-RPC routes answer -32001', async (t) => {
  const w = await world(t);
  const id = w.ids.tree;
  const rpcRoutes: [string, string][] = [
    ['/tasks', 'tasks.get'],
    ['/tasks', 'tasks.list'],
    ['/system', 'system.health'],
    ['/', 'execute_task_tree'],
    ['/', 'GetTask'],
  ];
  for (const [path, method] of rpcRoutes) {
    const answer = await rpc(
      w.url,
      path,
      { jsonrpc: '2.0', id: 7, method, params: { task_id: id, id, tasks: [{ name: 'x' }] } },
      path === '/' ? V1 : {},
    );
    assert.equal(answer.status, 401, `POST ${path} ${method}`);
    assert.equal(answer.headers.get('www-authenticate'), 'Bearer', `POST ${path} ${method}`);
    assert.equal((answer.body as Envelope).jsonrpc, '2.0');
    assert.equal(
      (answer.body as Envelope).error?.code,
      -32001,
      `POST ${path} ${method}: ${JSON.stringify(answer.body)}`,
    );
  }
  for (const path of ['/tasks', `/tasks/${id}/status`, `/tasks/${id}/events`, '/tasks/no-such-task/status']) {
    const response = await fetch(`${w.url}${path}`);
    assert.equal(response.status, 401, `GET ${path}`);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer', `GET ${path}`);
    assert.equal(
      ((await response.json()) as { error: { code: string } }).error.code,
      'APF_UNAUTHENTICATED',
      `GET ${path}`,
    );
  }
  // A token signed with another secret is no token.
  const forged = await rpc(
    w.url,
    '/tasks',
    { jsonrpc: '2.0', id: 1, method: 'tasks.get', params: { task_id: id } },
    { authorization: `Bearer ${w.tokens.alice.slice(0, -4)}AAAA` },
  );
  assert.equal(forged.status, 401);
  assert.equal((forged.body as Envelope).error?.code, -32001);

  // Public: the agent card, health, login (reachable: bad credentials are its own 401), CORS preflight.
  for (const path of ['/.well-known/agent-card.json', '/health']) {
    const response = await fetch(`${w.url}${path}`);
    assert.equal(response.status, 200, `GET ${path}`);
    await response.arrayBuffer();
  }
  const login = await rpc(w.url, '/auth/login', { username: 'nobody', password: 'wrong-password' });
  assert.equal(login.status, 401);
  assert.match(JSON.stringify(login.body), /Invalid username or password/);
  const preflight = await fetch(`${w.url}/tasks`, {
    method: 'OPTIONS',
    headers: { origin: 'http://example.com', 'access-control-request-method': 'POST' },
  });
  await preflight.arrayBuffer();
  assert.notEqual(preflight.status, 401, 'a CORS preflight needs no token');
});

test("tasks are stamped with the token's user; bob gets for alice's tasks exactly what an unknown id gets, on every method and route", async (t) => {
  const w = await world(t);
  // Stamping: tasks.create, execute_task_tree and A2A all made alice's tasks.
  for (const id of taskIds(w))
    assert.equal(
      resultOf<Json>(await w.tasks('alice', 'tasks.get', { task_id: id }), 'alice get').user_id,
      'alice',
      `owner of ${id}`,
    );
  const treeBefore = await w.tasks('alice', 'tasks.tree', { task_id: w.ids.tree });
  const countBefore = await w.tasks('alice', 'tasks.count', {});

  const ghost = `ghost-${randomUUID()}`;
  const cases: [string, (id: string) => Json, (answer: Envelope, id: string) => void][] = [
    ['tasks.get', (id) => ({ task_id: id }), (a) => assert.equal(resultOf(a, 'get'), null)],
    ['tasks.get', (id) => ({ id }), (a) => assert.equal(resultOf(a, 'get'), null)],
    ['tasks.detail', (id) => ({ task_id: id }), (a) => assert.equal(resultOf(a, 'detail'), null)],
    [
      'tasks.tree',
      (id) => ({ task_id: id }),
      (a, id) => assert.equal(errorOf(a, -32004, 'tree').message, `Task ${id} not found`),
    ],
    ['tasks.tree', (id) => ({ root_id: id }), (a) => errorOf(a, -32004, 'tree')],
    ['tasks.children', (id) => ({ parent_id: id }), (a) => errorOf(a, -32004, 'children')],
    ['tasks.children', (id) => ({ task_id: id }), (a) => errorOf(a, -32004, 'children')],
    ['tasks.update', (id) => ({ task_id: id, name: 'bob was here' }), (a) => errorOf(a, -32004, 'update')],
    ['tasks.update', (id) => ({ task_id: id, status: 'completed' }), (a) => errorOf(a, -32004, 'update')],
    ['tasks.delete', (id) => ({ task_id: id }), (a) => errorOf(a, -32004, 'delete')],
    ['tasks.copy', (id) => ({ task_id: id }), (a) => errorOf(a, -32004, 'copy')],
    ['tasks.copy', (id) => ({ task_id: id, copy_mode: 'full', save: false }), (a) => errorOf(a, -32004, 'copy')],
    ['tasks.execute', (id) => ({ task_id: id }), (a) => errorOf(a, -32004, 'execute')],
    ['tasks.execute', (id) => ({ task_id: id, copy_execution: true }), (a) => errorOf(a, -32004, 'execute copy')],
    ['tasks.execute', (id) => ({ task_id: id, use_streaming: true }), (a) => errorOf(a, -32004, 'execute streaming')],
    [
      'tasks.cancel',
      (id) => ({ task_ids: [id] }),
      (a, id) => assert.equal(resultOf<Json[]>(a, 'cancel')[0]?.task_id, id),
    ],
    [
      'tasks.cancel',
      (id) => ({ task_ids: id, force: true }),
      (a) => assert.equal(resultOf<Json[]>(a, 'cancel').length, 1),
    ],
    [
      'tasks.running.cancel',
      (id) => ({ task_ids: [id] }),
      (a) => assert.equal(resultOf<Json[]>(a, 'running.cancel').length, 1),
    ],
    [
      'tasks.running.status',
      (id) => ({ task_ids: [id] }),
      (a, id) =>
        assert.deepEqual(resultOf(a, 'running.status'), [{ task_id: id, context_id: id, status: 'not_found' }]),
    ],
  ];
  for (const id of taskIds(w)) {
    for (const [method, params, expect] of cases) {
      const what = `bob ${method} ${JSON.stringify(params(id))}`;
      const theirs = await w.tasks('bob', method, params(id));
      const unknown = await w.tasks('bob', method, params(ghost));
      assert.deepEqual(
        swapped(theirs, id, ghost),
        swapped(unknown, id, ghost),
        `${what}: same answer as for an unknown id`,
      );
      expect(theirs, id);
    }
    for (const path of [`/tasks/${id}/status`, `/tasks/${id}/events`]) {
      const theirs = await w.getJson('bob', path);
      const unknown = await w.getJson('bob', path.replace(id, ghost));
      assert.equal(theirs.status, 404, `bob GET ${path}`);
      assert.deepEqual(
        theirs,
        JSON.parse(JSON.stringify(unknown).replaceAll(ghost, id)),
        `bob GET ${path}: same as an unknown id`,
      );
    }
    const streamed = await w.sse('bob', id);
    assert.equal(streamed.status, 404, `bob SSE ${id}`);
    assert.deepEqual(streamed.events, []);
  }

  // A2A: alice's A2A tasks are not found for bob (-32001), like unknown ones.
  const a2aCases: [string, (id: string) => Json][] = [
    ['GetTask', (id) => ({ id })],
    ['CancelTask', (id) => ({ id })],
    [
      'SendMessage',
      (id) => ({ message: { messageId: 'm-bob', role: 'ROLE_USER', parts: [{ text: 'let me in' }], taskId: id } }),
    ],
    ['CreateTaskPushNotificationConfig', (id) => ({ taskId: id, url: 'https://example.com/hook' })],
    ['ListTaskPushNotificationConfigs', (id) => ({ taskId: id })],
  ];
  for (const id of [w.ids.a2aDone, w.ids.a2aWaiting]) {
    for (const [method, params] of a2aCases) {
      const theirs = await w.a2a('bob', method, params(id));
      const unknown = await w.a2a('bob', method, params(ghost));
      errorOf(theirs, -32001, `bob A2A ${method} ${id}`);
      assert.deepEqual(
        swapped(theirs, id, ghost),
        swapped(unknown, id, ghost),
        `bob A2A ${method}: same answer as for an unknown id`,
      );
    }
  }
  // An A2A message asking for a tasks API operation runs it as bob.
  for (const [method, params] of [
    ['tasks.get', { task_id: w.ids.tree }],
    ['tasks.tree', { task_id: w.ids.tree }],
    ['tasks.list', {}],
  ] as [string, Json][]) {
    const answer = await w.a2a('bob', 'SendMessage', w.message([{ data: params }], { metadata: { method } }));
    if (method === 'tasks.tree') {
      const ghostly = await w.a2a(
        'bob',
        'SendMessage',
        w.message([{ data: { task_id: ghost } }], { metadata: { method } }),
      );
      assert.match(errorOf(answer, -32602, 'bob A2A tasks.tree').message, /not found/);
      assert.deepEqual(
        swapped(answer, w.ids.tree, ghost),
        swapped(ghostly, w.ids.tree, ghost),
        `bob A2A tasks.tree: same as an unknown id`,
      );
      continue;
    }
    const data = resultOf<{ message: { parts: { data: Json }[] } }>(answer, `bob A2A ${method}`).message.parts[0]?.data;
    if (method === 'tasks.get')
      assert.equal(data?.result, null, `bob A2A tasks.get of alice's task: ${JSON.stringify(answer)}`);
    if (method === 'tasks.list') assert.deepEqual(data?.result, [], `bob A2A tasks.list: ${JSON.stringify(answer)}`);
  }

  // Nothing bob did changed alice's things.
  assert.deepEqual(
    withoutId(await w.tasks('alice', 'tasks.tree', { task_id: w.ids.tree })),
    withoutId(treeBefore),
    "alice's pending tree is untouched",
  );
  assert.deepEqual(
    withoutId(await w.tasks('alice', 'tasks.count', {})),
    withoutId(countBefore),
    'no copies, no deletions',
  );
  const hang = resultOf<Json[]>(
    await w.tasks('alice', 'tasks.running.status', { task_ids: [w.ids.hang] }),
    'running.status',
  )[0];
  assert.equal(hang?.status, 'in_progress', "alice's running tree was not cancelled");
  assert.equal(hang?.is_running, true);
  assert.equal(
    resultOf<{ status: { state: string } }>(await w.a2a('alice', 'GetTask', { id: w.ids.a2aWaiting }), 'GetTask').status
      .state,
    'TASK_STATE_INPUT_REQUIRED',
    "alice's A2A task was not cancelled",
  );
});

test("bob's listings never hold alice's tasks; naming alice is forbidden (-32003); system.health does not count alice's running trees for bob", async (t) => {
  const w = await world(t);
  const bobTree = resultOf<{ id: string; user_id: string }>(
    await w.tasks('bob', 'tasks.create', [{ name: 'b-root', schemas: { method: 'noop' } }]),
    'bob create',
  );
  assert.equal(bobTree.user_id, 'bob');
  const bobA2a = resultOf<{ task: { id: string } }>(
    await w.a2a('bob', 'SendMessage', w.message([{ text: 'bob here' }])),
    'bob A2A',
  ).task.id;

  const ids = (rows: unknown) => (rows as { id: string }[]).map((row) => row.id);
  const owners = (rows: unknown) => [...new Set((rows as { user_id: string }[]).map((row) => row.user_id))];
  assert.deepEqual(ids(resultOf(await w.tasks('bob', 'tasks.list', {}), 'list')), [bobTree.id]);
  assert.deepEqual(
    owners(resultOf(await w.tasks('bob', 'tasks.list', { root_only: false, limit: 1000 }), 'list all')),
    ['bob'],
  );
  const count = resultOf<Json>(await w.tasks('bob', 'tasks.count', {}), 'count');
  assert.equal(count.total, 1);
  assert.equal(count.user_id, 'bob');
  assert.equal(resultOf<Json>(await w.tasks('bob', 'tasks.count', { root_only: true }), 'count roots').total, 1);
  assert.deepEqual(resultOf(await w.tasks('bob', 'tasks.running.list', {}), 'running.list'), []);
  assert.deepEqual(resultOf(await w.tasks('bob', 'tasks.running.count', {}), 'running.count'), {
    count: 0,
    user_id: 'bob',
  });
  const rest = await w.getJson('bob', '/tasks');
  assert.equal(rest.status, 200);
  assert.deepEqual(ids(rest.body), [bobTree.id]);
  assert.deepEqual(owners((await w.getJson('bob', '/tasks?root_only=false&limit=1000')).body), ['bob']);
  assert.deepEqual(
    ids((await w.getJson('bob', '/tasks?status=in_progress')).body),
    [],
    "alice's running tree is not listed",
  );
  const listed = resultOf<{ tasks: { id: string }[]; totalSize: number }>(
    await w.a2a('bob', 'ListTasks', {}),
    'ListTasks',
  );
  assert.deepEqual(
    listed.tasks.map((task) => task.id),
    [bobA2a],
  );
  assert.equal(listed.totalSize, 1);

  // Asking for alice's by name.
  for (const [method, params] of [
    ['tasks.list', { user_id: 'alice' }],
    ['tasks.count', { user_id: 'alice' }],
    ['tasks.running.list', { user_id: 'alice' }],
    ['tasks.running.count', { user_id: 'alice' }],
    ['tasks.create', [{ name: 'for-alice', user_id: 'alice', schemas: { method: 'noop' } }]],
    ['tasks.create', { tasks: [{ name: 'for-alice', user_id: 'alice', schemas: { method: 'noop' } }] }],
    ['tasks.execute', { tasks: [{ name: 'for-alice', user_id: 'alice', schemas: { method: 'noop' } }] }],
  ] as [string, unknown][]) {
    errorOf(await w.tasks('bob', method, params), -32003, `bob ${method} ${JSON.stringify(params)}`);
  }
  errorOf(
    await w.call('bob', '/', 'execute_task_tree', {
      tasks: [{ name: 'for-alice', user_id: 'alice', schemas: { method: 'noop' } }],
    }),
    -32003,
    'bob execute_task_tree for alice',
  );
  const named = await w.getJson('bob', '/tasks?user_id=alice');
  assert.equal(named.status, 403, `bob GET /tasks?user_id=alice: ${JSON.stringify(named.body)}`);
  assert.equal((named.body as { error: { code: string } }).error.code, 'APF_FORBIDDEN');
  assert.equal(
    resultOf<Json>(await w.tasks('alice', 'tasks.count', { root_only: true }), 'alice count').total,
    4,
    'nothing was created for alice',
  );

  // system.health: alice's tree is the only one running; what bob is told must not count it.
  const health = resultOf<Json>(await w.call('bob', '/system', 'system.health'), 'bob system.health');
  const rootHealth = resultOf<Json>(await w.call('root', '/system', 'system.health'), 'root system.health');
  assert.equal(rootHealth.running_tasks_count, 1, 'the administrator sees the running tree');
  assert.deepEqual(rootHealth.tasks, { running: 1, trees: 1 });
  assert.equal(
    health.running_tasks_count,
    0,
    `bob's system.health running_tasks_count counts alice's running trees: ${JSON.stringify(health)}`,
  );
  assert.deepEqual(
    health.tasks,
    { running: 0, trees: 0 },
    `bob's system.health 'tasks' counts alice's running tasks: ${JSON.stringify(health.tasks)}`,
  );
});

/** What alice may do on her own tree, and the administrator on alice's. */
async function actsOnAlicesTree(w: World, who: 'alice' | 'root') {
  const { tree, kid, executed, hang, a2aDone, a2aWaiting } = w.ids;
  for (const id of taskIds(w)) {
    for (const method of ['tasks.get', 'tasks.detail'])
      assert.equal(resultOf<Json>(await w.tasks(who, method, { task_id: id }), `${who} ${method}`).user_id, 'alice');
    const status = await w.getJson(who, `/tasks/${id}/status`);
    assert.equal(status.status, 200, `${who} GET /tasks/${id}/status`);
    assert.equal((status.body as Json).task_id, id);
    assert.equal(
      resultOf<Json[]>(await w.tasks(who, 'tasks.running.status', { task_ids: [id] }), 'running.status')[0]?.status ===
        'not_found',
      false,
    );
  }
  assert.equal(resultOf<Json>(await w.tasks(who, 'tasks.tree', { task_id: kid }), 'tree').id, tree);
  assert.deepEqual(
    resultOf<Json[]>(await w.tasks(who, 'tasks.children', { parent_id: tree }), 'children').map((row) => row.id),
    [kid],
  );
  assert.equal(
    resultOf<Json>(await w.tasks(who, 'tasks.update', { task_id: kid, name: `renamed by ${who}` }), 'update').name,
    `renamed by ${who}`,
  );

  // Listings hold alice's trees.
  const aliceRoots = [tree, executed, hang, w.ids.a2aRoot].sort();
  const listed = (rows: unknown) => (rows as { id: string }[]).map((row) => row.id);
  assert.deepEqual(
    listed(resultOf(await w.tasks(who, 'tasks.list', { user_id: 'alice' }), 'list alice')).sort(),
    aliceRoots,
  );
  const all = listed(resultOf(await w.tasks(who, 'tasks.list', {}), 'list'));
  for (const id of aliceRoots) assert.ok(all.includes(id), `${who} tasks.list holds ${id}`);
  assert.equal(
    resultOf<Json>(await w.tasks(who, 'tasks.count', { user_id: 'alice', root_only: true }), 'count').total,
    4,
  );
  for (const id of aliceRoots)
    assert.ok(listed((await w.getJson(who, '/tasks')).body).includes(id), `${who} GET /tasks holds ${id}`);
  assert.deepEqual(listed((await w.getJson(who, '/tasks?user_id=alice')).body).sort(), aliceRoots);
  assert.deepEqual(listed(resultOf(await w.tasks(who, 'tasks.running.list', {}), 'running.list')), [hang]);
  assert.equal(resultOf<Json>(await w.tasks(who, 'tasks.running.count', {}), 'running.count').count, 1);
  assert.equal(
    resultOf<Json>(await w.tasks(who, 'tasks.running.count', { user_id: 'alice' }), 'running.count alice').count,
    1,
  );
  const a2aListed = resultOf<{ tasks: { id: string }[] }>(await w.a2a(who, 'ListTasks', {}), 'ListTasks').tasks.map(
    (task) => task.id,
  );
  assert.deepEqual(a2aListed.sort(), [a2aDone, a2aWaiting].sort());

  // Copy, execute, stream.
  const copy = resultOf<{ id: string; user_id: string; original_task_id: string }>(
    await w.tasks(who, 'tasks.copy', { task_id: tree }),
    'copy',
  );
  assert.equal(copy.original_task_id, tree);
  assert.equal(copy.user_id, who, 'a copy belongs to who made it (an administrator names another owner with user_id)');
  assert.equal(resultOf<Json>(await w.tasks(who, 'tasks.delete', { task_id: copy.id }), 'delete').success, true);
  assert.equal(resultOf(await w.tasks('alice', 'tasks.get', { task_id: copy.id }), 'get deleted'), null);
  const ran = resultOf<Json>(await w.tasks(who, 'tasks.execute', { task_id: tree }), 'execute');
  assert.equal(ran.status, 'completed');
  const streamed = await w.sse(who, kid);
  assert.equal(streamed.status, 200);
  assert.equal(
    streamed.events.filter((event) => event.type === 'final').length,
    1,
    `${who} streams alice's tree to its final event`,
  );
  assert.deepEqual(streamed.events.at(-1), { type: 'stream_end', task_id: tree });

  // A2A.
  assert.equal(resultOf<{ id: string }>(await w.a2a(who, 'GetTask', { id: a2aDone }), 'GetTask').id, a2aDone);
  assert.equal(
    resultOf<{ status: { state: string } }>(await w.a2a(who, 'CancelTask', { id: a2aWaiting }), 'CancelTask').status
      .state,
    'TASK_STATE_CANCELED',
  );

  // Cancel the running tree while streaming it.
  const live = w.sse(who, hang);
  const cancelled = resultOf<Json[]>(await w.tasks(who, 'tasks.cancel', { task_ids: [hang] }), 'cancel');
  assert.equal(cancelled[0]?.task_id, hang);
  await eventually(
    async () => resultOf<Json>(await w.tasks('alice', 'tasks.get', { task_id: hang }), 'get').status === 'cancelled',
  );
  assert.deepEqual(resultOf(await w.tasks(who, 'tasks.running.list', {}), 'running.list'), []);
  const streamedLive = await live;
  assert.equal(streamedLive.status, 200);
  assert.equal(
    streamedLive.events.find((event) => event.type === 'final')?.status,
    'cancelled',
    `${who} streams alice's running tree to its end`,
  );

  // Creating for alice by name.
  const forAlice = resultOf<Json>(
    await w.tasks(who, 'tasks.create', [{ name: 'named', user_id: 'alice', schemas: { method: 'noop' } }]),
    'create for alice',
  );
  assert.equal(forAlice.user_id, 'alice');
}

test('alice does everything on her own tree', async (t) => {
  const w = await world(t);
  await actsOnAlicesTree(w, 'alice');
});

test("an administrator (root) does everything on alice's tree and sees everyone's tasks", async (t) => {
  const w = await world(t);
  const bobTree = resultOf<{ id: string }>(
    await w.tasks('bob', 'tasks.create', [{ name: 'b-root', schemas: { method: 'noop' } }]),
    'bob create',
  ).id;
  assert.ok(
    resultOf<{ id: string }[]>(await w.tasks('root', 'tasks.list', {}), 'root list').some((row) => row.id === bobTree),
    "root sees bob's tree too",
  );
  const count = resultOf<Json>(await w.tasks('root', 'tasks.count', { root_only: true }), 'root count');
  assert.equal(count.total, 5, 'every root of every user');
  assert.equal(count.user_id, undefined);
  await actsOnAlicesTree(w, 'root');
});

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

test("tasks.execute with webhook_config on alice's task as bob: the not-found error, no run and no webhook request", async (t) => {
  const w = await world(t);
  const hook = await httpReceiver(t);
  const ghost = `ghost-${randomUUID()}`;
  const replayed = async (id: string) =>
    (await w.sse('alice', id)).events.filter((event) => typeof event.seq === 'number').length;
  // (A finished tree's stream is replayed and ends; a pending one's would stay open.)
  const before = await replayed(w.ids.executed);
  for (const id of taskIds(w)) {
    for (const extra of [{}, { use_streaming: true }, { copy_execution: true }]) {
      const params = (x: string) => ({ task_id: x, webhook_config: { url: hook.url }, ...extra });
      const theirs = await w.tasks('bob', 'tasks.execute', params(id));
      errorOf(theirs, -32004, `bob tasks.execute ${JSON.stringify(params(id))}`);
      assert.deepEqual(
        swapped(theirs, id, ghost),
        swapped(await w.tasks('bob', 'tasks.execute', params(ghost)), id, ghost),
        'same as an unknown id',
      );
    }
  }
  assert.equal(
    resultOf<Json>(await w.tasks('alice', 'tasks.get', { task_id: w.ids.tree }), 'get').status,
    'pending',
    'not run',
  );
  assert.equal(await replayed(w.ids.executed), before, "no new run of alice's finished tree");
  assert.equal(
    resultOf<Json[]>(await w.tasks('alice', 'tasks.running.status', { task_ids: [w.ids.hang] }), 'status')[0]?.status,
    'in_progress',
  );
  assert.equal(
    resultOf<Json>(await w.tasks('alice', 'tasks.count', { root_only: true }), 'count').total,
    4,
    'no copies',
  );

  // The receiver works: alice's own run reaches it, and only that run ever did.
  const started = resultOf<Json>(
    await w.tasks('alice', 'tasks.execute', { task_id: w.ids.tree, webhook_config: { url: hook.url } }),
    'alice execute with webhook',
  );
  assert.equal(started.status, 'started');
  const delivered = await eventually(() => hook.delivered().some((body) => body.final === true) && hook.delivered());
  assert.ok(
    delivered.every((body) => body.root_task_id === w.ids.tree),
    "only alice's run was sent",
  );
  assert.deepEqual(
    delivered.map((body) => body.seq),
    Array.from({ length: delivered.length }, (_, i) => i + 1),
    'one run: seq 1..n once',
  );
  assert.equal(hook.hits.length, delivered.length);
});
