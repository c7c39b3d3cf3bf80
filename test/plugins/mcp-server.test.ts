// apflow as an MCP server over Streamable HTTP, driven by the official SDK's own Client (and by
// raw HTTP where the wire itself is the point: status codes, headers, resuming a stream).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, ResourceUpdatedNotificationSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { eventually, repoRoot, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
const SECRET = 'mcp-test-secret-of-enough-length-0123456789';

async function server(t: TestContext, inline: Record<string, unknown> = {}) {
  const app = await testApp(t, { executors: { dirs: [fixtures] }, server: { shutdown_timeout_s: 0 }, ...inline });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/** An SDK client connected to `url`/mcp (with a bearer token when given); closed (and its session ended) after the test. */
async function connect(
  t: TestContext,
  url: string,
  token?: string,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(
    new URL(`${url}/mcp`),
    token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {},
  );
  const client = new Client({ name: 'apflow-test', version: '1.0.0' });
  await client.connect(transport);
  t.after(async () => {
    await transport.terminateSession().catch(() => undefined);
    await client.close();
  });
  return { client, transport };
}

/** The text of a resource's first content. */
const resourceText = (read: { contents: ({ text: string } | { blob: string })[] }) => {
  const first = read.contents[0];
  return first && 'text' in first ? first.text : '';
};

type ToolAnswer = {
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
};
const text = (answer: ToolAnswer) => answer.content.map((part) => part.text ?? '').join('');

const chain = (prefix: string) => [
  { id: `${prefix}-root`, name: 'root', schemas: { method: 'noop' } },
  {
    id: `${prefix}-a`,
    name: 'first step',
    parent_id: `${prefix}-root`,
    schemas: { method: 'sleep' },
    inputs: { ms: 20 },
  },
  {
    id: `${prefix}-b`,
    name: 'second step',
    parent_id: `${prefix}-root`,
    schemas: { method: 'sleep' },
    inputs: { ms: 20 },
    dependencies: [`${prefix}-a`],
  },
];

test('initialize, tools with JSON Schemas (the original names), and a session id', async (t) => {
  const { url } = await server(t);
  const { client, transport } = await connect(t, url);
  assert.equal(client.getServerVersion()?.name, 'apflow');
  assert.match(transport.sessionId ?? '', /^[0-9a-f-]{36}$/);
  assert.ok(client.getServerCapabilities()?.resources?.subscribe, 'resources can be subscribed to');
  const { tools } = await client.listTools();
  const names = tools.map((tool) => tool.name).sort();
  for (const name of [
    'execute_task',
    'create_task',
    'get_task',
    'update_task',
    'delete_task',
    'list_tasks',
    'get_task_status',
    'cancel_task',
    'get_task_tree',
    'copy_task',
    'list_executors',
  ]) {
    assert.ok(names.includes(name), `tool ${name}`);
  }
  const execute = tools.find((tool) => tool.name === 'execute_task');
  assert.equal(execute?.inputSchema.type, 'object');
  assert.ok(execute?.inputSchema.properties?.tasks, 'execute_task takes tasks');
  assert.ok((execute?.description ?? '').length > 50, 'a useful description');
  assert.equal(tools.find((tool) => tool.name === 'get_task')?.annotations?.readOnlyHint, true);

  const executors = (await client.callTool({ name: 'list_executors', arguments: {} })) as ToolAnswer;
  const listed = (executors.structuredContent?.executors ?? []) as { id: string; input_schema: unknown }[];
  assert.ok(
    listed.some((entry) => entry.id === 'sleep' && typeof entry.input_schema === 'object'),
    text(executors),
  );
});

test('execute_task runs a 3-task tree, sending progress as its tasks move, and answers each task’s status', async (t) => {
  const { url } = await server(t);
  const { client } = await connect(t, url);
  const progress: Progress[] = [];
  const answer = (await client.callTool({ name: 'execute_task', arguments: { tasks: chain('p') } }, undefined, {
    onprogress: (step) => progress.push(step),
  })) as ToolAnswer;
  assert.equal(answer.isError, undefined, text(answer));
  const outcome = answer.structuredContent as {
    status: string;
    root_task_id: string;
    tasks: { id: string; status: string }[];
  };
  assert.equal(outcome.status, 'completed');
  assert.equal(outcome.root_task_id, 'p-root');
  assert.deepEqual(
    outcome.tasks.map((task) => [task.id, task.status]),
    [
      ['p-root', 'completed'],
      ['p-a', 'completed'],
      ['p-b', 'completed'],
    ],
  );
  assert.deepEqual(JSON.parse(text(answer)), outcome, 'the text content is the same JSON');

  // Progress grows with every notification, out of the tree's 3 tasks, and follows the run's order.
  assert.ok(progress.length >= 3, JSON.stringify(progress));
  for (let i = 1; i < progress.length; i++)
    assert.ok(progress[i]!.progress > progress[i - 1]!.progress, JSON.stringify(progress));
  assert.ok(progress.every((step) => step.total === 3));
  const finished = progress.filter((step) => Number.isInteger(step.progress)).map((step) => step.message);
  assert.deepEqual(finished, ['first step: completed', 'second step: completed', 'root: completed']);
});

test('a failing tree is a tool error with the failure in its words; bad arguments name the field; an unknown tool is a protocol error', async (t) => {
  const { url } = await server(t);
  const { client } = await connect(t, url);
  const failing = (await client.callTool({
    name: 'execute_task',
    arguments: {
      tasks: [{ id: 'f-root', name: 'root', schemas: { method: 'fail' }, inputs: { message: 'the disk is full' } }],
    },
  })) as ToolAnswer;
  assert.equal(failing.isError, true, 'a tree that failed is a tool error');
  assert.equal(failing.structuredContent?.status, 'failed');
  assert.match(text(failing), /the disk is full/);
  assert.match(String(failing.structuredContent?.error), /the disk is full/);

  const bad = (await client.callTool({ name: 'get_task', arguments: { id: 'x' } })) as ToolAnswer;
  assert.equal(bad.isError, true);
  assert.match(text(bad), /arguments\.task_id: is required/);
  assert.match(text(bad), /arguments\.id: unknown key/);

  const badTree = (await client.callTool({
    name: 'create_task',
    arguments: {
      tasks: [
        { name: 'a', schemas: { method: 'noop' } },
        { name: 'b', schemas: { method: 'noop' } },
      ],
    },
  })) as ToolAnswer;
  assert.equal(badTree.isError, true);
  assert.match(text(badTree), /root/i, text(badTree));

  const unknown = (await client.callTool({ name: 'get_task', arguments: { task_id: 'no-such-task' } })) as ToolAnswer;
  assert.equal(unknown.isError, true);
  assert.match(text(unknown), /Task no-such-task not found/);

  await assert.rejects(
    client.callTool({ name: 'no_such_tool', arguments: {} }),
    (error: McpError) => error.code === -32602 && /Unknown tool 'no_such_tool'/.test(error.message),
  );
});

test('resources: templates, the task://{id} of a run, tasks:// listings with the original query, and unknown ones', async (t) => {
  const { url } = await server(t);
  const { client } = await connect(t, url);
  await client.callTool({ name: 'execute_task', arguments: { tasks: chain('r') } });
  await client.callTool({
    name: 'create_task',
    arguments: { tasks: [{ id: 'r-pending', name: 'later', schemas: { method: 'noop' } }] },
  });

  const { resourceTemplates } = await client.listResourceTemplates();
  assert.deepEqual(resourceTemplates.map((template) => template.uriTemplate).sort(), [
    'task://{task_id}',
    'tasks://{?status,limit,offset}',
  ]);
  const { resources } = await client.listResources();
  assert.ok(resources.some((resource) => resource.uri === 'task://r-root'));

  const read = await client.readResource({ uri: 'task://r-b' });
  const task = JSON.parse(resourceText(read)) as { id: string; status: string; result: { slept: number } };
  assert.equal(read.contents[0]?.mimeType, 'application/json');
  assert.equal(task.status, 'completed');
  assert.equal(task.result.slept, 20);

  const completed = JSON.parse(
    resourceText(await client.readResource({ uri: 'tasks://?status=completed&limit=5' })),
  ) as { id: string }[];
  assert.deepEqual(
    completed.map((row) => row.id),
    ['r-root'],
  );
  const pending = JSON.parse(resourceText(await client.readResource({ uri: 'tasks://?status=pending' }))) as {
    id: string;
  }[];
  assert.deepEqual(
    pending.map((row) => row.id),
    ['r-pending'],
  );

  await assert.rejects(
    client.readResource({ uri: 'task://nope' }),
    (error: McpError) => error.code === -32002 && /not found/.test(error.message),
  );
  await assert.rejects(
    client.readResource({ uri: 'tasks://?limit=0' }),
    (error: McpError) => error.code === -32602 && /limit/.test(error.message),
  );
  await assert.rejects(client.readResource({ uri: 'file:///etc/passwd' }), (error: McpError) => error.code === -32002);
});

test('cancelling the MCP request cancels the tree; a subscribed task:// resource sends updates while its tree runs', async (t) => {
  const { app, url } = await server(t);
  const { client } = await connect(t, url);
  const hanging = [
    { id: 'c-root', name: 'root', schemas: { method: 'noop' } },
    { id: 'c-hang', name: 'hangs', parent_id: 'c-root', schemas: { method: 'hang' } },
  ];
  const updates: string[] = [];
  client.setNotificationHandler(
    ResourceUpdatedNotificationSchema,
    (notification) => void updates.push(notification.params.uri),
  );
  await client.callTool({ name: 'create_task', arguments: { tasks: hanging } });
  await client.subscribeResource({ uri: 'task://c-hang' });

  const controller = new AbortController();
  const call = client.callTool({ name: 'execute_task', arguments: { task_id: 'c-root' } }, undefined, {
    signal: controller.signal,
  });
  await eventually(async () => (await app.tasks.get('c-hang'))?.status === 'in_progress', 10_000);
  controller.abort('the user pressed stop');
  await assert.rejects(call, /the user pressed stop/);
  await eventually(async () => (await app.tasks.get('c-root'))?.status === 'cancelled', 10_000);
  assert.equal((await app.tasks.get('c-hang'))?.status, 'cancelled');
  await eventually(() => updates.filter((uri) => uri === 'task://c-hang').length >= 2, 10_000);
});

test('execute_task with wait: false answers at once; get_task_status follows the run', async (t) => {
  const { url } = await server(t);
  const { client } = await connect(t, url);
  const started = (await client.callTool({
    name: 'execute_task',
    arguments: { tasks: chain('w'), wait: false },
  })) as ToolAnswer;
  assert.equal(started.structuredContent?.status, 'started', text(started));
  assert.equal(started.structuredContent?.root_task_id, 'w-root');
  await eventually(async () => {
    const status = (await client.callTool({ name: 'get_task_status', arguments: { task_id: 'w-root' } })) as ToolAnswer;
    return status.structuredContent?.status === 'completed';
  }, 10_000);
});

test('a dropped stream resumes with Last-Event-ID: the rest of the progress and the answer arrive on the new stream', async (t) => {
  const { url } = await server(t);
  const { transport } = await connect(t, url);
  const session = transport.sessionId as string;
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-session-id': session,
    'mcp-protocol-version': '2025-06-18',
  };
  const steps = Array.from({ length: 4 }, (_, i) => ({
    id: `d-${i}`,
    name: `step ${i}`,
    parent_id: 'd-root',
    schemas: { method: 'sleep' },
    inputs: { ms: 150 },
    dependencies: i ? [`d-${i - 1}`] : [],
  }));
  const call = {
    jsonrpc: '2.0',
    id: 7,
    method: 'tools/call',
    params: {
      name: 'execute_task',
      arguments: { tasks: [{ id: 'd-root', name: 'root', schemas: { method: 'noop' } }, ...steps] },
      _meta: { progressToken: 'tok' },
    },
  };
  const controller = new AbortController();
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify(call),
    signal: controller.signal,
  });
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  // Read until the first progress event with an id, then drop the connection.
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let buffer = '';
  let lastId: string | undefined;
  while (!lastId) {
    const { value, done } = await reader.read();
    assert.ok(!done, 'the stream ended before any progress');
    buffer += new TextDecoder().decode(value);
    const event = buffer.split('\n\n').find((frame) => /"notifications\/progress"/.test(frame) && /^id: /m.test(frame));
    lastId = event?.match(/^id: (.+)$/m)?.[1];
  }
  controller.abort();

  // Until the server saw the drop, the stream counts as connected (409): a client retries.
  const resumed = await eventually(async () => {
    const response = await fetch(`${url}/mcp`, { headers: { ...headers, 'last-event-id': lastId } });
    if (response.status === 409) await response.body?.cancel();
    return response.status === 409 ? undefined : response;
  }, 10_000);
  assert.equal(resumed.status, 200);
  let rest = '';
  const more = (resumed.body as ReadableStream<Uint8Array>).getReader();
  while (!/"id":7/.test(rest)) {
    const { value, done } = await more.read();
    if (done) break;
    rest += new TextDecoder().decode(value);
  }
  await more.cancel();
  const messages = rest.split('\n\n').flatMap((frame) =>
    frame
      .split('\n')
      .filter((line) => line.startsWith('data: ') && line.length > 6)
      .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>),
  );
  const answer = messages.find((message) => message.id === 7) as
    { result: { structuredContent: { status: string } } } | undefined;
  assert.equal(answer?.result.structuredContent.status, 'completed', rest);
  assert.ok(
    messages.some((message) => message.method === 'notifications/progress'),
    'progress after the drop was replayed or sent live',
  );
});

test('sessions: DELETE ends one (then 404); an unknown id is 404; no id and no initialize is 400; a foreign Origin is 403', async (t) => {
  const { url } = await server(t);
  const { transport } = await connect(t, url);
  const session = transport.sessionId as string;
  const post = (headers: Record<string, string>, body: unknown = { jsonrpc: '2.0', id: 1, method: 'tools/list' }) =>
    fetch(`${url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
        ...headers,
      },
      body: JSON.stringify(body),
    });

  assert.equal((await post({ 'mcp-session-id': session })).status, 200);
  const foreign = await post({ 'mcp-session-id': session, origin: 'https://evil.example' });
  assert.equal(foreign.status, 403);
  assert.match(JSON.stringify(await foreign.json()), /evil\.example/);
  assert.equal((await post({})).status, 400);
  const unknown = await post({ 'mcp-session-id': 'not-a-session' });
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { error: { code: number } }).error.code, -32001);

  const ended = await fetch(`${url}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': session } });
  assert.equal(ended.status, 200);
  assert.equal((await post({ 'mcp-session-id': session })).status, 404);
});

test('with authentication on: 401 names the resource metadata; alice cannot see bob’s task; a session answers only its user', async (t) => {
  const { app, url } = await server(t, { auth: { jwt_secret: SECRET } });
  const jwt = app.service('jwt-auth');
  assert.ok(jwt);
  const alice = await jwt.mint('alice', [], '1h');
  const bob = await jwt.mint('bob', [], '1h');

  const anonymous = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    }),
  });
  assert.equal(anonymous.status, 401);
  assert.equal(
    anonymous.headers.get('www-authenticate'),
    `Bearer resource_metadata="${url}/.well-known/oauth-protected-resource/mcp"`,
  );
  const metadata = (await (await fetch(`${url}/.well-known/oauth-protected-resource/mcp`)).json()) as {
    resource: string;
    bearer_methods_supported: string[];
  };
  assert.equal(metadata.resource, `${url}/mcp`);
  assert.deepEqual(metadata.bearer_methods_supported, ['header']);

  const asBob = await connect(t, url, bob);
  await asBob.client.callTool({
    name: 'execute_task',
    arguments: { tasks: [{ id: 'bob-secret', name: 'bob’s', schemas: { method: 'noop' } }] },
  });
  const asAlice = await connect(t, url, alice);
  const read = (await asAlice.client.callTool({
    name: 'get_task',
    arguments: { task_id: 'bob-secret' },
  })) as ToolAnswer;
  assert.equal(read.isError, true);
  assert.match(text(read), /Task bob-secret not found/);
  await assert.rejects(
    asAlice.client.readResource({ uri: 'task://bob-secret' }),
    (error: McpError) => error.code === -32002,
  );
  const cancel = (await asAlice.client.callTool({
    name: 'cancel_task',
    arguments: { task_id: 'bob-secret' },
  })) as ToolAnswer;
  assert.equal(cancel.isError, true);
  const listed = (await asAlice.client.callTool({ name: 'list_tasks', arguments: {} })) as ToolAnswer;
  assert.deepEqual(listed.structuredContent?.tasks, []);
  const run = (await asAlice.client.callTool({
    name: 'execute_task',
    arguments: { task_id: 'bob-secret' },
  })) as ToolAnswer;
  assert.equal(run.isError, true);
  assert.match(text(run), /not found/);

  // Bob's token on alice's session: the session does not exist for him.
  const hijack = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${bob}`,
      'mcp-session-id': asAlice.transport.sessionId as string,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
  });
  assert.equal(hijack.status, 404);
  for (const message of [JSON.stringify(read), JSON.stringify(listed)])
    assert.doesNotMatch(message, new RegExp(`${alice}|${bob}|${SECRET}`));
});

test('/health and /openapi.json name the MCP endpoint; disabled_plugins: [mcp] removes it', async (t) => {
  const on = await server(t);
  const health = (await (await fetch(`${on.url}/health`)).json()) as { endpoints: Record<string, string> };
  assert.equal(health.endpoints.mcp, '/mcp');
  const openapi = (await (await fetch(`${on.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { summary: string; description: string }>>;
  };
  assert.match(openapi.paths['/mcp']?.post?.summary ?? '', /MCP/);
  assert.match(openapi.paths['/mcp']?.post?.description ?? '', /execute_task/);
  assert.ok(openapi.paths['/mcp']?.get && openapi.paths['/mcp']?.delete, 'GET and DELETE documented');
  const off = await server(t, { disabled_plugins: ['mcp'] });
  const report = (await (await fetch(`${off.url}/health`)).json()) as { endpoints: Record<string, string> };
  assert.equal(report.endpoints.mcp, undefined);
  const response = await fetch(`${off.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(response.status, 404);
});

test('a reload of the server ends its sessions but not the runs they started: the tree completes', async (t) => {
  const { app, url } = await server(t);
  const { client } = await connect(t, url);
  const tasks = [
    { id: 'rl-root', name: 'root', schemas: { method: 'noop' } },
    { id: 'rl-slow', name: 'slow', parent_id: 'rl-root', schemas: { method: 'sleep' }, inputs: { ms: 1500 } },
  ];
  const call = client.callTool({ name: 'execute_task', arguments: { tasks } });
  void call.catch(() => undefined);
  await eventually(async () => (await app.tasks.get('rl-slow'))?.status === 'in_progress', 10_000);
  await app.reload();
  await assert.rejects(call, 'the session ended with the old generation');
  await eventually(async () => (await app.tasks.get('rl-root'))?.status === 'completed', 20_000);
  assert.equal((await app.tasks.get('rl-slow'))?.status, 'completed');
});
