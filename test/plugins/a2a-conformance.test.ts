import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { eventually, memoryLog, repoRoot, rpc, tempProject, testApp } from '../helpers.ts';

/**
 * What the A2A conformance kit (0.3.0, optional capabilities) and the specification ask beyond
 * the main flows: errors of streaming methods come as an event of a `text/event-stream` answer;
 * push configs for names that do not resolve here are stored (the policy judges each delivery);
 * the agent card mentions the MCP endpoint exactly when the server has one.
 */

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
const V1 = { 'a2a-version': '1.0' };
const MCP_URI = 'https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http';
/** The mcp plugin is left out where the test is not about it (its own tests cover it). */
const NO_MCP = { disabled_plugins: ['mcp'] };

type Json = Record<string, unknown>;
interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}
interface Envelope {
  jsonrpc?: string;
  id?: unknown;
  result?: Json;
  error?: RpcError;
}

async function a2aApp(t: TestContext, inline: Json = {}, log = memoryLog()) {
  const app = await testApp(t, { executors: { dirs: [fixtures] }, ...NO_MCP, ...inline }, { logStream: log.stream });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = async (body: unknown, headers: Record<string, string> = {}): Promise<Envelope> => {
    const answer = await rpc(url, '/', body, headers);
    assert.equal(answer.status, 200, `HTTP status of ${JSON.stringify(body)}`);
    return answer.body as Envelope;
  };
  return { app, url, call, log };
}

/** One SSE event: its `event:` type (when named) and its `data:` parsed. */
interface SseEvent {
  event?: string;
  data: Envelope;
}

/** POSTs a call as a streaming client does and reads the whole answer (the stream must end). */
async function streamCall(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  const events: SseEvent[] = [];
  if (type.startsWith('text/event-stream')) {
    for (const block of text.split('\n\n').filter((chunk) => chunk.trim() !== '')) {
      const lines = block.split('\n').filter((line) => !line.startsWith(':'));
      if (lines.length === 0) continue;
      const event = lines.find((line) => line.startsWith('event: '))?.slice(7);
      const data = lines.filter((line) => line.startsWith('data: ')).map((line) => line.slice(6));
      assert.equal(data.length, 1, `one data line per event: ${block}`);
      events.push({ ...(event ? { event } : {}), data: JSON.parse(data[0] as string) as Envelope });
    }
  }
  return { status: response.status, type, text, events };
}

/** Asserts the answer is a stream holding exactly one event: the JSON-RPC error `code` for `id`. */
function assertErrorStream(answer: Awaited<ReturnType<typeof streamCall>>, code: number, id: unknown): RpcError {
  assert.equal(answer.status, 200);
  assert.match(answer.type, /^text\/event-stream/, `an event stream, got ${answer.type}: ${answer.text}`);
  assert.equal(answer.events.length, 1, `exactly one event: ${answer.text}`);
  const only = answer.events[0]?.data as Envelope;
  assert.equal(only.jsonrpc, '2.0');
  assert.deepEqual(only.id, id, 'the id is echoed');
  assert.equal(only.result, undefined);
  assert.equal(only.error?.code, code, `error ${code} expected: ${answer.text}`);
  return only.error;
}

const v03Message = (text = 'Hello from the test') => ({
  kind: 'message',
  messageId: randomUUID(),
  role: 'user',
  parts: [{ kind: 'text', text }],
});
const v1Message = (parts: unknown[] = [{ text: 'Hello from the test' }], extra: Json = {}) => ({
  messageId: randomUUID(),
  role: 'ROLE_USER',
  parts,
  ...extra,
});

test('streaming methods answer their errors as one event of an event stream: unknown tasks, bad params, a version not spoken', async (t) => {
  const { url, call } = await a2aApp(t);
  const ghost = `non-existent-task-id-${randomUUID()}`;

  // The kit's check: tasks/resubscribe to an unknown task gives an error event whose message says "not found" or "task".
  const resubscribe = await streamCall(url, {
    jsonrpc: '2.0',
    id: 'r-1',
    method: 'tasks/resubscribe',
    params: { id: ghost },
  });
  const notFound = assertErrorStream(resubscribe, -32001, 'r-1');
  assert.match(notFound.message.toLowerCase(), /not found/);
  assert.equal(resubscribe.events[0]?.event, 'error', 'named an error event, as the SDK names mid-stream errors');
  const subscribe = await streamCall(
    url,
    { jsonrpc: '2.0', id: 2, method: 'SubscribeToTask', params: { id: ghost } },
    V1,
  );
  assert.match(assertErrorStream(subscribe, -32001, 2).message, /not found/i);

  // Bad params, caught by the SDK's envelope checks or by the message checks after them.
  assertErrorStream(
    await streamCall(url, { jsonrpc: '2.0', id: 3, method: 'message/stream', params: { invalid: 'params' } }),
    -32602,
    3,
  );
  assertErrorStream(
    await streamCall(url, { jsonrpc: '2.0', id: 4, method: 'message/stream', params: 'not-an-object' }),
    -32602,
    4,
  );
  assertErrorStream(
    await streamCall(
      url,
      { jsonrpc: '2.0', id: 5, method: 'SendStreamingMessage', params: { message: { parts: 'invalid' } } },
      V1,
    ),
    -32602,
    5,
  );
  assertErrorStream(
    await streamCall(url, { jsonrpc: '2.0', id: 6, method: 'tasks/resubscribe', params: {} }),
    -32001,
    6,
  );

  // A terminal task: v1.0 refuses the subscription (-32004), as an event too.
  const done = await call(
    {
      jsonrpc: '2.0',
      id: 7,
      method: 'SendMessage',
      params: { message: v1Message([{ data: { tasks: [{ name: 'quick', schemas: { method: 'noop' } }] } }]) },
    },
    V1,
  );
  const doneId = (done.result?.task as { id: string; status: { state: string } }).id;
  assertErrorStream(
    await streamCall(url, { jsonrpc: '2.0', id: 8, method: 'SubscribeToTask', params: { id: doneId } }, V1),
    -32004,
    8,
  );

  // A version the server does not speak, on a streaming method.
  assertErrorStream(
    await streamCall(
      url,
      { jsonrpc: '2.0', id: 9, method: 'SendStreamingMessage', params: { message: v1Message() } },
      { 'a2a-version': '99.0' },
    ),
    -32009,
    9,
  );

  // Other methods keep plain JSON errors; so does a streaming method inside a batch (it cannot stream).
  const get = await streamCall(url, { jsonrpc: '2.0', id: 10, method: 'tasks/get', params: { id: ghost } });
  assert.match(get.type, /^application\/json/);
  assert.equal((JSON.parse(get.text) as Envelope).error?.code, -32001);
  const batch = await streamCall(url, [{ jsonrpc: '2.0', id: 11, method: 'tasks/resubscribe', params: { id: ghost } }]);
  assert.match(batch.type, /^application\/json/);
  assert.equal((JSON.parse(batch.text) as Envelope[])[0]?.error?.code, -32004);

  // A stream that has something to say still says it: the Task first, then the stream ends.
  const waiting = await streamCall(url, {
    jsonrpc: '2.0',
    id: 12,
    method: 'message/stream',
    params: { message: v03Message() },
  });
  assert.match(waiting.type, /^text\/event-stream/);
  assert.deepEqual(
    waiting.events.map((event) => [event.data.id, (event.data.result as Json | undefined)?.kind]),
    [[12, 'task']],
  );
});

test('an internal failure inside a streaming call is the stream\'s one event: "Internal error" and the request id, never its own text', async (t) => {
  const { app, url } = await a2aApp(t);
  // A database that lost the A2A table: every message fails inside the handler.
  await app.storage.sql.run('DROP TABLE a2a_tasks');
  for (const [method, headers, message] of [
    ['message/stream', {}, v03Message()],
    ['SendStreamingMessage', V1, v1Message()],
  ] as const) {
    const answer = await streamCall(url, { jsonrpc: '2.0', id: 4, method, params: { message } }, headers);
    const error = assertErrorStream(answer, -32603, 4);
    assert.equal(error.message, 'Internal error');
    assert.deepEqual(Object.keys((error.data ?? {}) as object), ['request_id']);
    assert.doesNotMatch(answer.text, /a2a_tasks|SQLITE|no such table/i);
  }
});

test("another user's task reads as unknown to a streaming method too: the same error event", async (t) => {
  const SECRET = 'a2a-conformance-test-secret-0123456789abcdef';
  const { app, url } = await a2aApp(t, { auth: { jwt_secret: SECRET } });
  const jwt = app.service('jwt-auth');
  assert.ok(jwt);
  const alice = { authorization: `Bearer ${await jwt.mint('alice', [], '1h')}` };
  const bob = { authorization: `Bearer ${await jwt.mint('bob', [], '1h')}` };
  const sent = await rpc(
    url,
    '/',
    { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: v1Message() } },
    { ...V1, ...alice },
  );
  const theirs = ((sent.body as Envelope).result?.task as { id: string }).id;
  const ghost = randomUUID();
  for (const [method, headers] of [
    ['SubscribeToTask', V1],
    ['tasks/resubscribe', {}],
  ] as const) {
    const mine = await streamCall(
      url,
      { jsonrpc: '2.0', id: 'x', method, params: { id: theirs } },
      { ...headers, ...bob },
    );
    const unknown = await streamCall(
      url,
      { jsonrpc: '2.0', id: 'x', method, params: { id: ghost } },
      { ...headers, ...bob },
    );
    const error = assertErrorStream(mine, -32001, 'x');
    assertErrorStream(unknown, -32001, 'x');
    assert.equal(mine.text.replaceAll(theirs, ghost), unknown.text, `${method}: the same answer as for an unknown id`);
    assert.doesNotMatch(JSON.stringify(error), /alice/);
  }
  // Alice herself gets her task first.
  const own = await streamCall(
    url,
    { jsonrpc: '2.0', id: 'a', method: 'tasks/resubscribe', params: { id: theirs } },
    alice,
  );
  assert.equal((own.events[0]?.data.result as Json | undefined)?.id, theirs);
});

test('a push config for a host that does not resolve here is stored and read back; literal private addresses are still refused', async (t) => {
  const { call } = await a2aApp(t, { a2a: { push: { deny_hosts: ['blocked.invalid'] } } });
  // The kit's flow (v0.3): set without an id, get it as "default", find it in the list.
  const kitTask = (
    (await call({ jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: v03Message() } })).result as {
      id: string;
    }
  ).id;
  const set = await call({
    jsonrpc: '2.0',
    id: 2,
    method: 'tasks/pushNotificationConfig/set',
    params: { taskId: kitTask, pushNotificationConfig: { url: 'https://example.com/webhook' } },
  });
  assert.equal(set.error, undefined, JSON.stringify(set));
  assert.equal((set.result?.pushNotificationConfig as Json).url, 'https://example.com/webhook');
  const got = await call({
    jsonrpc: '2.0',
    id: 3,
    method: 'tasks/pushNotificationConfig/get',
    params: { id: kitTask, pushNotificationConfigId: 'default' },
  });
  assert.equal((got.result?.pushNotificationConfig as Json).url, 'https://example.com/webhook');
  const listed = (
    await call({ jsonrpc: '2.0', id: 4, method: 'tasks/pushNotificationConfig/list', params: { id: kitTask } })
  ).result as unknown as { pushNotificationConfig: Json }[];
  assert.deepEqual(
    listed.map((entry) => entry.pushNotificationConfig.url),
    ['https://example.com/webhook'],
  );

  // v1.0, with a token: stored, read back, the token hidden.
  const task = (
    (await call({ jsonrpc: '2.0', id: 5, method: 'SendMessage', params: { message: v1Message() } }, V1)).result
      ?.task as { id: string }
  ).id;
  const created = await call(
    {
      jsonrpc: '2.0',
      id: 6,
      method: 'CreateTaskPushNotificationConfig',
      params: { taskId: task, id: 'p', url: 'https://push.invalid/webhook', token: 'tok-secret' },
    },
    V1,
  );
  assert.equal(created.error, undefined, JSON.stringify(created));
  const read = (
    await call(
      { jsonrpc: '2.0', id: 7, method: 'GetTaskPushNotificationConfig', params: { taskId: task, id: 'p' } },
      V1,
    )
  ).result;
  assert.deepEqual([read?.url, read?.token], ['https://push.invalid/webhook', '***']);

  // Refused when set, without DNS: literal addresses the policy refuses (the same answer as before),
  // loopback names, other schemes, credentials in the URL, deny_hosts.
  const refused = async (url: string) => {
    const answer = await call(
      {
        jsonrpc: '2.0',
        id: 8,
        method: 'CreateTaskPushNotificationConfig',
        params: { taskId: task, url, token: 'tok-refused' },
      },
      V1,
    );
    assert.equal(answer.error?.code, -32602, `${url}: ${JSON.stringify(answer)}`);
    assert.doesNotMatch(JSON.stringify(answer), /tok-refused/);
    return answer.error?.message ?? '';
  };
  const hint = '(allow it with outbound.allow_hosts or outbound.allow_private)';
  assert.equal(
    await refused('http://10.0.0.1/x'),
    `Push notification URL http://10.0.0.1/x is refused: 10.0.0.1 is not a public address ${hint}`,
  );
  assert.equal(
    await refused('http://127.0.0.1/x'),
    `Push notification URL http://127.0.0.1/x is refused: 127.0.0.1 is not a public address ${hint}`,
  );
  assert.match(await refused('http://[::1]:8080/x'), /is refused: ::1 is not a public address/);
  assert.match(await refused('http://2130706433/x'), /is refused: 127\.0\.0\.1 is not a public address/);
  assert.match(
    await refused('http://localhost:9/hook'),
    /is refused: localhost resolves to 127\.0\.0\.1, which is not a public address/,
  );
  assert.match(
    await refused('https://api.localhost/x'),
    /api\.localhost resolves to 127\.0\.0\.1, which is not a public address/,
  );
  assert.match(await refused('ftp://push.invalid/x'), /must use http or https/);
  assert.match(await refused('https://user:pw@push.invalid/x'), /must not carry credentials/);
  assert.match(await refused('https://blocked.invalid/x'), /blocked\.invalid is on outbound\.deny_hosts/);
  assert.match(await refused('not a url'), /is not a valid URL/);
  const configs = (
    await call({ jsonrpc: '2.0', id: 9, method: 'ListTaskPushNotificationConfigs', params: { taskId: task } }, V1)
  ).result?.configs as Json[];
  assert.deepEqual(
    configs.map((config) => config.url),
    ['https://push.invalid/webhook'],
    'nothing refused was stored',
  );
});

test('a delivery to a name that does not resolve is logged (without secrets) once per update and never retried; the task is fine', async (t) => {
  const log = memoryLog();
  const { app, call } = await a2aApp(t, { a2a: { push: { retry_base_s: 0.05 } } }, log);
  const task = (
    (await call({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: v1Message() } }, V1)).result
      ?.task as { id: string }
  ).id;
  const token = `tok-${randomUUID()}`;
  const credentials = `cred-${randomUUID()}`;
  const created = await call(
    {
      jsonrpc: '2.0',
      id: 2,
      method: 'CreateTaskPushNotificationConfig',
      params: {
        taskId: task,
        id: 'nowhere',
        url: 'https://push.invalid/webhook?k=query-secret',
        token,
        authentication: { scheme: 'Bearer', credentials },
      },
    },
    V1,
  );
  assert.equal(created.error, undefined, JSON.stringify(created));
  const tree = [
    { name: 'root', schemas: { method: 'echo' }, inputs: { pushed: true } },
    { name: 'kid', parent_id: 'root', schemas: { method: 'noop' } },
  ];
  const ran = await call(
    {
      jsonrpc: '2.0',
      id: 3,
      method: 'SendMessage',
      params: { message: v1Message([{ data: { tasks: tree } }], { taskId: task }) },
    },
    V1,
  );
  const done = ran.result?.task as { status: { state: string }; metadata: { root_task_id: string } };
  assert.equal(done.status.state, 'TASK_STATE_COMPLETED');
  const rootId = done.metadata.root_task_id;

  // Every update was handled (the cursor reached the tree's last event): nothing is left to resume.
  await eventually(async () => {
    const [row] = await app.storage.sql.select<{ delivered_seq: number | string }>(
      'SELECT delivered_seq FROM a2a_push_configs WHERE task_id = ?',
      [task],
    );
    const root = await app.tasks.get(rootId);
    return root !== undefined && root !== null && Number(row?.delivered_seq) === root.event_seq;
  });
  const events = await app.tasks.events(rootId);
  const updates = events.filter((event) => event.type !== 'final').length + 2; // + the result artifact and the final status
  const notSent = log.lines.filter((line) => line.msg === 'A2A push notification not sent (not retried)');
  assert.equal(notSent.length, updates, 'one line per update: none retried');
  for (const line of notSent) {
    assert.equal(line.a2a_task_id, task);
    assert.equal(line.push_config_id, 'nowhere');
    assert.equal(line.target, 'https://push.invalid');
    assert.match(String(line.reason), /does not resolve/);
  }
  assert.ok(!log.lines.some((line) => /retrying/.test(String(line.msg))), 'no delivery attempt was retried');
  for (const secret of [token, credentials, 'query-secret'])
    assert.ok(!log.text().includes(secret), `the log does not hold ${secret}`);

  const after = (await call({ jsonrpc: '2.0', id: 4, method: 'GetTask', params: { id: task } }, V1)).result as {
    status: { state: string };
  };
  assert.equal(after.status.state, 'TASK_STATE_COMPLETED');
});

/** A test-local plugin that serves `method /mcp` (a stand-in for the mcp plugin's route). */
const fakeMcp = (method: 'POST' | 'GET') => `import { definePlugin } from 'apflow';
export default definePlugin({ name: 'fake-mcp-${method.toLowerCase()}', setup(app) { app.http.route({ method: '${method}', url: '/mcp', handler: async () => ({ fake: true }) }); } });
`;

async function cards(url: string) {
  const v03 = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as {
    capabilities: { extensions?: Json[] };
  };
  const v1 = (await (await fetch(`${url}/.well-known/agent-card.json`, { headers: V1 })).json()) as {
    capabilities: { extensions?: Json[] };
  };
  const mention = (card: typeof v03) =>
    (card.capabilities.extensions ?? []).filter((extension) => extension.uri === MCP_URI);
  return { v03: mention(v03), v1: mention(v1) };
}

test('the agent card mentions the MCP endpoint (a data-only extension) exactly when POST /mcp is served', async (t) => {
  const dir = tempProject(t, { 'fake-mcp-post.ts': fakeMcp('POST'), 'fake-mcp-get.ts': fakeMcp('GET') });
  const without = await a2aApp(t);
  assert.deepEqual(await cards(without.url), { v03: [], v1: [] }, 'no /mcp route: no mention');
  const getOnly = await a2aApp(t, { plugins: [join(dir, 'fake-mcp-get.ts')] });
  assert.deepEqual(await cards(getOnly.url), { v03: [], v1: [] }, 'GET /mcp alone is not an MCP endpoint');

  const served = await a2aApp(t, { plugins: [join(dir, 'fake-mcp-post.ts')] });
  const found = await cards(served.url);
  for (const [version, mention] of Object.entries(found)) {
    assert.equal(mention.length, 1, `${version}: one mention`);
    const [extension] = mention as [Json];
    // v1.0 (ProtoJSON) leaves a false field out.
    assert.ok(
      extension.required === false || (version === 'v1' && extension.required === undefined),
      `${version}: no client has to understand it`,
    );
    assert.deepEqual(extension.params, { url: `${served.url}/mcp`, transport: 'streamable-http' });
    assert.match(String(extension.description), /MCP/);
  }
  // A2A's own interfaces are unchanged: /mcp is not an A2A transport.
  const card = (await (await fetch(`${served.url}/.well-known/agent-card.json`, { headers: V1 })).json()) as {
    supportedInterfaces: { url: string }[];
  };
  assert.ok(card.supportedInterfaces.every((iface) => iface.url === `${served.url}/`));

  const based = await a2aApp(t, {
    plugins: [join(dir, 'fake-mcp-post.ts')],
    server: { base_url: 'https://agents.example.com/' },
  });
  assert.deepEqual(((await cards(based.url)).v1[0] as Json).params, {
    url: 'https://agents.example.com/mcp',
    transport: 'streamable-http',
  });
});

test('with the mcp plugin loaded, the card mentions its /mcp; with it disabled, not', async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const served =
    (await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }))
      .status !== 404;
  assert.ok(served, 'the mcp plugin serves POST /mcp');
  const found = await cards(url);
  assert.deepEqual([found.v03.length, found.v1.length], [1, 1]);
  assert.deepEqual(found.v1[0]?.params, { url: `${url}/mcp`, transport: 'streamable-http' });
  const disabled = await a2aApp(t, NO_MCP);
  assert.deepEqual(await cards(disabled.url), { v03: [], v1: [] });
});
