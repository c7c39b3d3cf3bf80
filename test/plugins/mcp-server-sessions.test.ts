// apflow as an MCP server over Streamable HTTP: sessions and resuming a stream (over raw HTTP, where the
// wire itself is the point), authentication, and the endpoint's listing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { eventually } from '../helpers.ts';
import { SECRET, server, connect, type ToolAnswer, text } from './mcp-server-setup.ts';

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
