import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { repoRoot, rpc, sleep, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
const V1 = { 'a2a-version': '1.0' };

interface Envelope {
  jsonrpc?: string;
  id?: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

async function a2aApp(t: TestContext, inline: Record<string, unknown> = {}) {
  const app = await testApp(t, { executors: { dirs: [fixtures] }, ...inline });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  /** POSTs `body` to `/` and returns the JSON-RPC answer, checking it came with HTTP 200. */
  const call = async (body: unknown, headers: Record<string, string> = {}): Promise<Envelope> => {
    const answer = await rpc(url, '/', body, headers);
    assert.equal(answer.status, 200, `HTTP status of ${typeof body === 'string' ? body : JSON.stringify(body)}`);
    assert.ok(answer.body, 'a JSON body');
    return answer.body as Envelope;
  };
  return { app, url, call };
}

const v03Message = (
  parts: unknown[] = [{ kind: 'text', text: 'Hello from the test' }],
  extra: Record<string, unknown> = {},
) => ({
  kind: 'message',
  messageId: randomUUID(),
  role: 'user',
  parts,
  ...extra,
});

const v1Message = (parts: unknown[] = [{ text: 'Hello from the test' }], extra: Record<string, unknown> = {}) => ({
  messageId: randomUUID(),
  role: 'ROLE_USER',
  parts,
  ...extra,
});

function assertError(answer: Envelope, code: number, id?: unknown) {
  assert.equal(answer.jsonrpc, '2.0');
  assert.equal(answer.error?.code, code, `expected error ${code}, got ${JSON.stringify(answer)}`);
  assert.equal(answer.result, undefined);
  if (id !== undefined) assert.deepEqual(answer.id, id, 'the id is echoed');
}

test("the conformance kit's JSON-RPC layer checks (v0.3, no A2A-Version): exact codes, HTTP 200, ids echoed", async (t) => {
  const { call } = await a2aApp(t);
  // 1 and 3: malformed JSON.
  assertError(await call('{"jsonrpc":"2.0","method":"message/send","params":{"foo":"bar"}'), -32700);
  assertError(await call('{"jsonrpc": "2.0", "method": "message/send", "id": 1, "params": {'), -32700);
  // 2a–2e: invalid requests, 2a–2c without an id (answered, not treated as notifications).
  assertError(await call({ jsonrpc: 'aaa', method: 'message/send', params: {} }), -32600);
  assertError(await call({ jsonrpc: '2.0', params: { message: v03Message() } }), -32600);
  assertError(await call({ jsonrpc: '2.0', method: 'message/ssend', params: { message: v03Message() } }), -32601);
  assertError(
    await call({ jsonrpc: '2.0', id: { bad: 'type' }, method: 'message/send', params: { message: v03Message() } }),
    -32600,
  );
  assertError(
    await call({ jsonrpc: '2.0', id: 'e', method: 'message/send', params: { '': 'not_a_dict' } }),
    -32602,
    'e',
  );
  // 4: unknown method with an id.
  assertError(await call({ jsonrpc: '2.0', id: 'u-1', method: 'nonexistent/method', params: {} }), -32601, 'u-1');
  // 5 and 13: invalid params.
  assertError(
    await call({ jsonrpc: '2.0', id: 5, method: 'message/send', params: { message: { parts: 'invalid' } } }),
    -32602,
    5,
  );
  assertError(
    await call({ jsonrpc: '2.0', id: 13, method: 'message/send', params: { message: { kind: 'message' } } }),
    -32602,
    13,
  );
  // 6: wrong JSON-RPC version, with a valid message.
  assertError(
    await call({ jsonrpc: '1.0', id: 'v-6', method: 'message/send', params: { message: v03Message() } }),
    -32600,
    'v-6',
  );
  // 7: missing method with an id.
  assertError(await call({ jsonrpc: '2.0', id: 7, params: { message: v03Message() } }), -32600, 7);
  // v1.0 names are unknown to v0.3 (ListTasks has no v0.3 JSON-RPC form).
  assertError(await call({ jsonrpc: '2.0', id: 8, method: 'ListTasks', params: {} }), -32601, 8);
});

test('v1.0 (A2A-Version: 1.0): parse errors, unknown methods and invalid messages get the JSON-RPC codes', async (t) => {
  const { call } = await a2aApp(t);
  assertError(await call('{"jsonrpc":"2.0","method":"SendMessage","params":{"foo":"bar"}', V1), -32700);
  assertError(
    await call({ jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: v03Message() } }, V1),
    -32601,
    1,
  );
  assertError(
    await call({ jsonrpc: '2.0', id: 2, method: 'SendMessage', params: { message: { parts: 'invalid' } } }, V1),
    -32602,
    2,
  );
  assertError(await call({ jsonrpc: '2.0', id: 3, method: 'SendMessage', params: { message: {} } }, V1), -32602, 3);
  assertError(await call({ jsonrpc: '2.0', id: 4, method: 'SendMessage', params: {} }, V1), -32602, 4);
  assertError(
    await call({ jsonrpc: '2.0', id: 5, method: 'SendMessage', params: { '': 'not_a_dict' } }, V1),
    -32602,
    5,
  );
});

test('an A2A-Version the server does not speak gets -32009; 0.3 and 1.0 select their method names', async (t) => {
  const { call } = await a2aApp(t);
  const answer = await call(
    { jsonrpc: '2.0', id: 'v', method: 'SendMessage', params: { message: v1Message() } },
    { 'a2a-version': '99.0' },
  );
  assertError(answer, -32009, 'v');
  assert.match(answer.error?.message ?? '', /99\.0/);
  const v03 = await call(
    { jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: v03Message() } },
    { 'a2a-version': '0.3' },
  );
  assert.equal(v03.result?.kind, 'task');
  assert.equal((v03.result?.status as { state: string }).state, 'input-required');
  const v1 = await call({ jsonrpc: '2.0', id: 2, method: 'SendMessage', params: { message: v1Message() } }, V1);
  assert.equal((v1.result?.task as { status: { state: string } }).status.state, 'TASK_STATE_INPUT_REQUIRED');
});

test('duplicate request ids are both answered, each echoing the id; the first succeeds', async (t) => {
  const { call } = await a2aApp(t);
  const body = () => ({ jsonrpc: '2.0', id: 'dup-1', method: 'message/send', params: { message: v03Message() } });
  const first = await call(body());
  assert.equal(first.id, 'dup-1');
  assert.equal(first.result?.kind, 'task', JSON.stringify(first));
  const second = await call(body());
  assert.equal(second.id, 'dup-1');
  assert.ok(second.result || second.error);
  const [a, b] = await Promise.all([call(body()), call(body())]);
  assert.deepEqual([a.id, b.id], ['dup-1', 'dup-1']);
  assert.notEqual(a.result?.id, b.result?.id, 'two messages, two tasks');
});

test('the v0.3 protocol flow over raw JSON-RPC: continuation, tasks/get with historyLength, cancel, unknown ids', async (t) => {
  const { call } = await a2aApp(t);
  const created = (await call({ jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: v03Message() } }))
    .result as { id: string; contextId: string; kind: string };
  assert.equal(created.kind, 'task');
  for (let i = 0; i < 3; i++) {
    const next = await call({
      jsonrpc: '2.0',
      id: 2 + i,
      method: 'message/send',
      params: { message: v03Message(undefined, { taskId: created.id }) },
    });
    assert.equal(next.result?.id, created.id);
    assert.equal((next.result?.status as { state: string }).state, 'input-required');
  }
  const full = (await call({ jsonrpc: '2.0', id: 9, method: 'tasks/get', params: { id: created.id } })).result as {
    history: unknown[];
  };
  assert.equal(full.history.length, 8);
  const limited = (
    await call({ jsonrpc: '2.0', id: 10, method: 'tasks/get', params: { id: created.id, historyLength: 2 } })
  ).result as { history: unknown[] };
  assert.deepEqual(limited.history, full.history.slice(-2));
  const one = (
    await call({ jsonrpc: '2.0', id: 11, method: 'tasks/get', params: { id: created.id, historyLength: 1 } })
  ).result;
  assert.ok(one && 'history' in one, 'history is present with historyLength 1');
  assertError(
    await call({ jsonrpc: '2.0', id: 12, method: 'tasks/get', params: { id: 'nonexistent-task-id' } }),
    -32001,
    12,
  );
  const canceled = (await call({ jsonrpc: '2.0', id: 13, method: 'tasks/cancel', params: { id: created.id } }))
    .result as { id: string; status: { state: string } };
  assert.equal(canceled.id, created.id);
  assert.equal(canceled.status.state, 'canceled');
  assertError(await call({ jsonrpc: '2.0', id: 14, method: 'tasks/cancel', params: { id: created.id } }), -32002, 14);
  assertError(
    await call({ jsonrpc: '2.0', id: 15, method: 'tasks/cancel', params: { id: 'nonexistent-task-id' } }),
    -32001,
    15,
  );
  assertError(
    await call({
      jsonrpc: '2.0',
      id: 16,
      method: 'message/send',
      params: { message: v03Message(undefined, { taskId: created.id }) },
    }),
    -32004,
    16,
  );
});

test('the card without A2A-Version: the v0.3 shape with supportedInterfaces, on all three paths', async (t) => {
  const { url } = await a2aApp(t);
  const bodies: Record<string, unknown>[] = [];
  for (const path of ['/.well-known/agent-card.json', '/.well-known/agent-card', '/.well-known/agent.json']) {
    const response = await fetch(`${url}${path}`);
    assert.equal(response.status, 200, path);
    assert.match(String(response.headers.get('content-type')), /^application\/json/);
    bodies.push((await response.json()) as Record<string, unknown>);
  }
  assert.deepEqual(bodies[1], bodies[0]);
  assert.deepEqual(bodies[2], bodies[0]);
  const card = bodies[0] as Record<string, unknown>;
  for (const key of ['name', 'description', 'version', 'url', 'protocolVersion'])
    assert.ok(typeof card[key] === 'string' && card[key] !== '', key);
  assert.equal(card.url, `${url}/`);
  assert.match(String(card.url), /^https?:\/\/[^\s/$.?#].[^\s]*$/);
  assert.equal(card.preferredTransport, 'JSONRPC');
  assert.equal(card.protocolVersion, '0.3.0');
  assert.deepEqual(
    {
      streaming: (card.capabilities as Record<string, unknown>).streaming,
      pushNotifications: (card.capabilities as Record<string, unknown>).pushNotifications,
    },
    { streaming: true, pushNotifications: true },
  );
  for (const key of ['defaultInputModes', 'defaultOutputModes']) {
    const modes = card[key] as unknown[];
    assert.ok(
      Array.isArray(modes) && modes.length > 0 && modes.every((mode) => typeof mode === 'string' && mode !== ''),
      key,
    );
  }
  const skills = card.skills as Record<string, unknown>[];
  assert.ok(skills.length > 0);
  for (const skill of skills) {
    for (const key of ['id', 'name', 'description'])
      assert.ok(typeof skill[key] === 'string' && skill[key] !== '', `skill.${key}`);
    assert.ok(Array.isArray(skill.tags) && skill.tags.length > 0, 'skill.tags');
  }
  assert.ok(skills.some((skill) => skill.id === 'tasks.execute'));
  assert.deepEqual(card.supportedInterfaces, [
    { url: `${url}/`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
    { url: `${url}/`, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
  ]);
});

test('the card with A2A-Version: 1.0 is the v1.0 shape; ETags differ per version, Vary names A2A-Version, If-None-Match gives 304', async (t) => {
  const { url } = await a2aApp(t);
  const response = await fetch(`${url}/.well-known/agent-card.json`, { headers: V1 });
  assert.equal(response.status, 200);
  const card = (await response.json()) as Record<string, unknown>;
  assert.deepEqual(card.supportedInterfaces, [
    { url: `${url}/`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
    { url: `${url}/`, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
  ]);
  for (const key of ['url', 'preferredTransport', 'protocolVersion', 'supportsAuthenticatedExtendedCard'])
    assert.equal(card[key], undefined, `no top-level ${key} in v1.0`);
  assert.equal((card.capabilities as Record<string, unknown>).streaming, true);
  assert.equal((card.capabilities as Record<string, unknown>).pushNotifications, true);
  assert.ok((card.skills as { id: string }[]).some((skill) => skill.id === 'tasks.execute'));

  const etag1 = response.headers.get('etag');
  assert.ok(etag1, 'an ETag');
  assert.match(String(response.headers.get('vary')), /A2A-Version/i);
  assert.match(String(response.headers.get('cache-control')), /max-age=\d+/);
  const v03 = await fetch(`${url}/.well-known/agent-card.json`);
  const etag03 = v03.headers.get('etag');
  assert.ok(etag03);
  assert.notEqual(etag03, etag1, 'the two shapes have different ETags');
  assert.match(String(v03.headers.get('vary')), /A2A-Version/i);

  const again = await fetch(`${url}/.well-known/agent-card.json`, { headers: { ...V1, 'if-none-match': etag1 } });
  assert.equal(again.status, 304);
  assert.equal(await again.text(), '');
  const again03 = await fetch(`${url}/.well-known/agent-card.json`, { headers: { 'if-none-match': etag03 } });
  assert.equal(again03.status, 304);
  const stale = await fetch(`${url}/.well-known/agent-card.json`, { headers: { 'if-none-match': etag1 } });
  assert.equal(stale.status, 200, 'the v1.0 ETag does not match the v0.3 card');
});

test('the card url comes from the request Host (never 0.0.0.0), or from server.base_url', async (t) => {
  const app = await testApp(t);
  const { port } = await app.listen({ host: '0.0.0.0', port: 0 });
  const direct = (await (await fetch(`http://127.0.0.1:${port}/.well-known/agent-card.json`)).json()) as {
    url: string;
  };
  assert.equal(direct.url, `http://127.0.0.1:${port}/`);
  const named = await app.inject({
    method: 'GET',
    url: '/.well-known/agent-card.json',
    headers: { host: 'agents.example.test:8443' },
  });
  assert.equal((named.json() as { url: string }).url, 'http://agents.example.test:8443/');
  const wildcard = await app.inject({
    method: 'GET',
    url: '/.well-known/agent-card.json',
    headers: { host: `0.0.0.0:${port}` },
  });
  const wildUrl = (wildcard.json() as { url: string }).url;
  assert.ok(!wildUrl.includes('0.0.0.0'), wildUrl);
  const v1 = await app.inject({
    method: 'GET',
    url: '/.well-known/agent-card.json',
    headers: { host: `0.0.0.0:${port}`, ...V1 },
  });
  assert.ok(!JSON.stringify(v1.json()).includes('0.0.0.0'));

  const based = await testApp(t, { server: { base_url: 'https://agents.example.com/' } });
  const { url } = await based.listen({ host: '127.0.0.1', port: 0 });
  const card03 = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as {
    url: string;
    supportedInterfaces: { url: string }[];
  };
  assert.equal(card03.url, 'https://agents.example.com/');
  assert.deepEqual(
    card03.supportedInterfaces.map((iface) => iface.url),
    ['https://agents.example.com/', 'https://agents.example.com/'],
  );
  const card1 = (await (await fetch(`${url}/.well-known/agent-card.json`, { headers: V1 })).json()) as {
    supportedInterfaces: { url: string }[];
  };
  assert.deepEqual(
    card1.supportedInterfaces.map((iface) => iface.url),
    ['https://agents.example.com/', 'https://agents.example.com/'],
  );
});

test('ListTasks (v1.0) lists tasks newest first by pages; the last page has nextPageToken ""; v0.3 has no tasks/list', async (t) => {
  const { call } = await a2aApp(t);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const sent = await call({ jsonrpc: '2.0', id: i, method: 'SendMessage', params: { message: v1Message() } }, V1);
    ids.push((sent.result?.task as { id: string }).id);
    // Creation times have millisecond precision: keep them apart so "newest first" is one order.
    await sleep(5);
  }
  const newestFirst = [...ids].reverse();
  const seen: string[] = [];
  let pageToken = '';
  const tokens: string[] = [];
  for (let page = 0; page < 5; page++) {
    const answer = await call(
      {
        jsonrpc: '2.0',
        id: `p${page}`,
        method: 'ListTasks',
        params: { pageSize: 2, ...(pageToken ? { pageToken } : {}) },
      },
      V1,
    );
    const result = answer.result as {
      tasks: { id: string }[];
      nextPageToken: string;
      pageSize: number;
      totalSize: number;
    };
    assert.ok(result, JSON.stringify(answer));
    assert.equal(result.totalSize, 5);
    assert.equal(result.pageSize, 2);
    assert.ok('nextPageToken' in result, 'nextPageToken is always present');
    seen.push(...result.tasks.map((task) => task.id));
    tokens.push(result.nextPageToken);
    pageToken = result.nextPageToken;
    if (!pageToken) break;
  }
  assert.deepEqual(seen, newestFirst);
  assert.equal(tokens.length, 3, 'pages of 2, 2 and 1');
  assert.equal(tokens.at(-1), '');
  const all = (await call({ jsonrpc: '2.0', id: 'all', method: 'ListTasks', params: {} }, V1)).result as {
    tasks: { id: string }[];
    nextPageToken: string;
  };
  assert.deepEqual(
    all.tasks.map((task) => task.id),
    newestFirst,
  );
  assert.equal(all.nextPageToken, '');
  assertError(
    await call({ jsonrpc: '2.0', id: 'bad', method: 'ListTasks', params: { pageToken: 'not-a-token' } }, V1),
    -32602,
    'bad',
  );
  assertError(await call({ jsonrpc: '2.0', id: 'v03', method: 'tasks/list', params: {} }), -32601, 'v03');
});

test('a push URL on 127.0.0.1 is refused without a2a.push.allow_hosts, in both versions', async (t) => {
  const { app, call } = await a2aApp(t);
  const v1Task = (
    (await call({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: v1Message() } }, V1)).result
      ?.task as { id: string }
  ).id;
  const refused1 = await call(
    {
      jsonrpc: '2.0',
      id: 2,
      method: 'CreateTaskPushNotificationConfig',
      params: { taskId: v1Task, url: 'http://127.0.0.1:9/hook', token: 'secret-token-1' },
    },
    V1,
  );
  assertError(refused1, -32602, 2);
  assert.match(refused1.error?.message ?? '', /not a public address/);
  assert.ok(!JSON.stringify(refused1).includes('secret-token-1'));

  const v03Task = (
    (await call({ jsonrpc: '2.0', id: 3, method: 'message/send', params: { message: v03Message() } })).result as {
      id: string;
    }
  ).id;
  const refused03 = await call({
    jsonrpc: '2.0',
    id: 4,
    method: 'tasks/pushNotificationConfig/set',
    params: { taskId: v03Task, pushNotificationConfig: { url: 'http://127.0.0.1:9/hook', token: 'secret-token-2' } },
  });
  assertError(refused03, -32602, 4);
  assert.match(refused03.error?.message ?? '', /not a public address/);
  const inline = await call(
    {
      jsonrpc: '2.0',
      id: 5,
      method: 'SendMessage',
      params: {
        message: v1Message(),
        configuration: { taskPushNotificationConfig: { url: 'http://localhost:9/hook' } },
      },
    },
    V1,
  );
  assertError(inline, -32602, 5);
  assert.match(inline.error?.message ?? '', /not a public address/);
  assert.deepEqual(await app.storage.sql.select('SELECT * FROM a2a_push_configs'), []);
  const listed = await call(
    { jsonrpc: '2.0', id: 6, method: 'ListTaskPushNotificationConfigs', params: { taskId: v1Task } },
    V1,
  );
  assert.deepEqual((listed.result as { configs?: unknown[] }).configs ?? [], []);
});

test('push configs over raw JSON-RPC: secrets answered as *** and not stored in the clear; get, list, delete (v1.0 and v0.3)', async (t) => {
  const { app, call } = await a2aApp(t, { a2a: { push: { allow_hosts: ['127.0.0.1'], retry_base_s: 0.05 } } });
  const taskId = (
    (await call({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: v1Message() } }, V1)).result
      ?.task as { id: string }
  ).id;
  const token = `raw-token-${randomUUID()}`;
  const credentials = `raw-cred-${randomUUID()}`;
  const created = await call(
    {
      jsonrpc: '2.0',
      id: 2,
      method: 'CreateTaskPushNotificationConfig',
      params: { taskId, url: 'http://127.0.0.1:9/hook', token, authentication: { scheme: 'Bearer', credentials } },
    },
    V1,
  );
  const config = created.result as { id: string; taskId: string; url: string };
  assert.ok(config?.id, JSON.stringify(created));
  assert.equal(config.taskId, taskId);
  assert.ok(!JSON.stringify(created).includes(token) && !JSON.stringify(created).includes(credentials));
  const got = (
    await call(
      { jsonrpc: '2.0', id: 3, method: 'GetTaskPushNotificationConfig', params: { taskId, id: config.id } },
      V1,
    )
  ).result as { token: string; authentication: { scheme: string; credentials: string } };
  assert.equal(got.token, '***');
  assert.deepEqual(got.authentication, { scheme: 'Bearer', credentials: '***' });

  const v03 = await call({
    jsonrpc: '2.0',
    id: 4,
    method: 'tasks/pushNotificationConfig/set',
    params: { taskId, pushNotificationConfig: { id: 'old', url: 'http://127.0.0.1:9/old', token } },
  });
  assert.equal((v03.result as { pushNotificationConfig: { id: string } }).pushNotificationConfig.id, 'old');
  assert.ok(!JSON.stringify(v03).includes(token));
  const list03 = (
    await call({ jsonrpc: '2.0', id: 5, method: 'tasks/pushNotificationConfig/list', params: { id: taskId } })
  ).result as unknown as { pushNotificationConfig: { id: string; token?: string } }[];
  assert.deepEqual(list03.map((entry) => entry.pushNotificationConfig.id).sort(), [config.id, 'old'].sort());
  assert.ok(list03.every((entry) => entry.pushNotificationConfig.token === '***'));
  const stored = JSON.stringify(await app.storage.sql.select('SELECT * FROM a2a_push_configs'));
  assert.ok(!stored.includes(token) && !stored.includes(credentials), 'secrets are not stored in the clear');

  const deleted = await call({
    jsonrpc: '2.0',
    id: 6,
    method: 'tasks/pushNotificationConfig/delete',
    params: { id: taskId, pushNotificationConfigId: 'old' },
  });
  assert.equal(deleted.result, null);
  const deleted1 = await call(
    { jsonrpc: '2.0', id: 7, method: 'DeleteTaskPushNotificationConfig', params: { taskId, id: config.id } },
    V1,
  );
  assert.equal(deleted1.result, null);
  const listed = await call(
    { jsonrpc: '2.0', id: 8, method: 'ListTaskPushNotificationConfigs', params: { taskId } },
    V1,
  );
  assert.deepEqual((listed.result as { configs?: unknown[] }).configs ?? [], []);
  assertError(
    await call(
      {
        jsonrpc: '2.0',
        id: 9,
        method: 'GetTaskPushNotificationConfig',
        params: { taskId: 'nonexistent-task-id', id: 'x' },
      },
      V1,
    ),
    -32001,
    9,
  );
});
