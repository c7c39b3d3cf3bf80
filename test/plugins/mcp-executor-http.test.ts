import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { startHttpServer } from '../fixtures/mcp-servers/http-server.ts';
import { memoryLog, testApp } from '../helpers.ts';
import { OPEN, run, completed, failed } from './mcp-executor-setup.ts';

describe('mcp_executor over HTTP', () => {
  test('Streamable HTTP: headers are sent but never shown, progress becomes task events, the session is ended', async (t) => {
    const token = `token-${randomUUID()}`;
    const server = await startHttpServer(t, { token });
    const log = memoryLog();
    const app = await testApp(t, { ...OPEN, log: { level: 'debug' } }, { logStream: log.stream });
    const headers = { authorization: `Bearer ${token}` };
    const { row, events } = await run(app, {
      transport: 'http',
      url: server.url,
      headers,
      operation: 'call_tool',
      tool_name: 'count',
      arguments: { to: 3 },
    });
    assert.equal(row.status, 'completed', String(row.error));
    const result = row.result as { transport: string; text: string };
    assert.equal(result.transport, 'http');
    assert.equal(result.text, 'counted to 3');
    const progress = events.filter((event) => event.type === 'progress' && event.message?.startsWith('step '));
    assert.deepEqual(
      progress.map((event) => event.message),
      ['step 1 of 3', 'step 2 of 3', 'step 3 of 3'],
    );
    assert.ok(
      server.seen.some((request) => request.method === 'DELETE'),
      'terminateSession ended the session',
    );
    assert.equal(server.sessions(), 0);

    const wrong = `wrong-${randomUUID()}`;
    const error = await failed(app, {
      transport: 'http',
      url: server.url,
      headers: { authorization: `Bearer ${wrong}` },
      operation: 'list_tools',
    });
    assert.match(error, /^mcp_executor: http:\/\/127\.0\.0\.1:\d+\/mcp answered HTTP 401 \(connecting\): /);
    // The task's own inputs hold the headers as given; nothing the run produced does.
    const rows = await app.tasks.list({});
    const everything =
      JSON.stringify({ outputs: rows.map((task) => [task.result, task.error]), events }) + log.text() + error;
    assert.ok(
      !everything.includes(token) && !everything.includes(wrong),
      'no header value in results, errors, events or logs',
    );
  });

  test('a server with only the legacy HTTP+SSE transport is reached through the fallback', async (t) => {
    const server = await startHttpServer(t, { legacyOnly: true });
    const app = await testApp(t, OPEN);
    const answer = await completed(app, {
      transport: 'http',
      url: server.url,
      operation: 'call_tool',
      tool_name: 'add',
      arguments: { a: 40, b: 2 },
    });
    assert.equal(answer.transport, 'sse');
    assert.equal(answer.text, 'sum is 42');
    assert.ok(
      server.seen.some((request) => request.method === 'POST' && request.path === '/mcp'),
      'Streamable HTTP was tried first',
    );
  });

  test('a server hanging past timeout fails the task naming the timeout', async (t) => {
    const server = await startHttpServer(t);
    const app = await testApp(t, OPEN);
    const error = await failed(app, {
      transport: 'http',
      url: server.url,
      operation: 'call_tool',
      tool_name: 'hang',
      timeout: 1,
    });
    assert.equal(error, `mcp_executor: ${server.url} timed out after 1s (tools/call)`);
  });

  test('the outbound policy refuses a loopback server by default', async (t) => {
    const server = await startHttpServer(t);
    const app = await testApp(t);
    const error = await failed(app, { transport: 'http', url: server.url, operation: 'list_tools' });
    assert.equal(
      error,
      `mcp_executor: ${server.url} is refused: 127.0.0.1 is not a public address (allow it with outbound.allow_hosts or outbound.allow_private)`,
    );
    assert.equal(server.seen.length, 0);
  });
});

test('bad or missing inputs fail the task naming the field', async (t) => {
  const app = await testApp(t, OPEN);
  const http = { transport: 'http', url: 'http://127.0.0.1:9/mcp' };
  assert.equal(
    await failed(app, { ...http, operation: 'call_tool' }),
    "mcp_executor: tool_name is required for operation 'call_tool'",
  );
  assert.equal(
    await failed(app, { ...http, operation: 'read_resource' }),
    "mcp_executor: resource_uri is required for operation 'read_resource'",
  );
  assert.equal(
    await failed(app, { ...http, operation: 'get_prompt', prompt_name: 'greet', arguments: { n: 1 } }),
    'mcp_executor: arguments.n must be a string (prompt arguments are strings)',
  );
  assert.equal(
    await failed(app, { transport: 'stdio', operation: 'list_tools' }),
    "mcp_executor: command is required with transport 'stdio' (the program and its arguments, as an array)",
  );
  assert.equal(
    await failed(app, { transport: 'http', operation: 'list_tools' }),
    "mcp_executor: url is required with transport 'http'",
  );
  assert.match(await failed(app, { ...http }), /operation/);
  assert.match(await failed(app, { ...http, operation: 'list_tools', timeout: 0 }), /timeout/);
});
