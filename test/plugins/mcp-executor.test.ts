import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { App, TaskEvent } from 'apflow';
import { startHttpServer } from '../fixtures/mcp-servers/http-server.ts';
import { eventually, memoryLog, processGone, repoRoot, testApp } from '../helpers.ts';

type Json = Record<string, unknown>;
type Row = Awaited<ReturnType<App['tasks']['tree']>>[number];

const STDIO_SERVER = join(repoRoot, 'test', 'fixtures', 'mcp-servers', 'stdio-server.ts');
/** The demo server as a stdio command (tsx is found from `cwd`, the repository). */
const stdio = (...flags: string[]) => ({
  transport: 'stdio',
  command: [process.execPath, '--import', 'tsx', STDIO_SERVER, ...flags],
  cwd: repoRoot,
});
/** Stdio on, loopback allowed (the fixture servers listen on 127.0.0.1). */
const OPEN = { mcp: { client: { stdio: { enabled: true } } }, outbound: { allow_hosts: ['127.0.0.1'] } };

/** Runs one `mcp_executor` task; resolves with its row and the events of its run. */
async function run(app: App, inputs: Json) {
  const tree = await app.engine.createTree([{ name: 'mcp', schemas: { method: 'mcp_executor' }, inputs }]);
  const events: TaskEvent[] = [];
  const stop = app.engine.subscribe((event) => event.root_task_id === tree.id && events.push(event));
  const { done } = await app.engine.execute(tree.id);
  await done;
  stop();
  return { row: (await app.tasks.get(tree.id)) as Row, events };
}

async function completed(app: App, inputs: Json) {
  const { row } = await run(app, inputs);
  assert.equal(row.status, 'completed', `task failed: ${String(row.error)}`);
  return row.result as { success: boolean; operation: string; transport: string; result: Json; text?: string };
}

async function failed(app: App, inputs: Json): Promise<string> {
  const { row } = await run(app, inputs);
  assert.equal(row.status, 'failed', `task did not fail: ${JSON.stringify(row.result)}`);
  return String(row.error);
}

const gone = processGone;

function tempFile(t: TestContext, name: string): string {
  const file = join(tmpdir(), `apflow-mcp-${name}-${randomUUID()}`);
  t.after(() => rmSync(file, { force: true }));
  return file;
}

describe('mcp_executor over stdio', () => {
  test('lists tools, calls one with arguments, and reads paginated resources and prompts', async (t) => {
    const app = await testApp(t, OPEN);
    const listed = await completed(app, { ...stdio(), operation: 'list_tools' });
    assert.equal(listed.success, true);
    assert.equal(listed.operation, 'list_tools');
    assert.equal(listed.transport, 'stdio');
    assert.deepEqual((listed.result.tools as { name: string }[]).map((tool) => tool.name).sort(), [
      'add',
      'count',
      'environment',
      'fail',
      'hang',
    ]);

    const sum = await completed(app, {
      ...stdio(),
      operation: 'call_tool',
      tool_name: 'add',
      arguments: { a: 2, b: 3 },
    });
    assert.equal(sum.text, 'sum is 5');
    assert.deepEqual(sum.result.content, [{ type: 'text', text: 'sum is 5' }]);

    const resources = await completed(app, { ...stdio(), operation: 'list_resources' });
    assert.deepEqual(
      (resources.result.resources as { uri: string }[]).map((resource) => resource.uri),
      ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((name) => `note://${name}`),
      'every page, in order',
    );
    assert.equal(resources.result.nextCursor, undefined);
    const note = await completed(app, { ...stdio(), operation: 'read_resource', resource_uri: 'note://beta' });
    assert.equal(note.text, 'the note beta');

    const prompts = await completed(app, { ...stdio(), operation: 'list_prompts' });
    assert.deepEqual(
      (prompts.result.prompts as { name: string }[]).map((prompt) => prompt.name),
      ['greet'],
    );
    const prompt = await completed(app, {
      ...stdio(),
      operation: 'get_prompt',
      prompt_name: 'greet',
      arguments: { name: 'Ada' },
    });
    assert.equal(prompt.text, 'Say hello to Ada');
  });

  test('a tool error fails the task with the tool message; a JSON-RPC error with a clear one', async (t) => {
    const app = await testApp(t, OPEN);
    assert.equal(
      await failed(app, { ...stdio(), operation: 'call_tool', tool_name: 'fail' }),
      "mcp_executor: tool 'fail' failed: the tool broke on purpose",
    );
    assert.equal(
      await failed(app, { ...stdio(), operation: 'read_resource', resource_uri: 'note://nothing' }),
      'mcp_executor: resources/read failed: MCP error -32002: Resource not found: note://nothing',
    );
    assert.equal(
      await failed(app, { transport: 'stdio', command: ['apflow-no-such-program'], operation: 'list_tools' }),
      "mcp_executor: cannot start 'apflow-no-such-program': ENOENT",
    );
  });

  test('the program sees only the default variables plus env, runs in cwd, and its stderr explains a crash without secrets', async (t) => {
    const app = await testApp(t, OPEN);
    const answer = await completed(app, {
      ...stdio(),
      env: { DEMO_VAR: 'hello' },
      operation: 'call_tool',
      tool_name: 'environment',
    });
    const seen = JSON.parse(answer.text ?? '{}') as { keys: string[]; demo_var: string; cwd: string };
    assert.equal(seen.demo_var, 'hello');
    assert.equal(seen.cwd, repoRoot);
    const allowed = new Set(['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER', 'DEMO_VAR']);
    assert.deepEqual(
      seen.keys.filter((key) => !allowed.has(key)),
      [],
      'nothing else of the server environment is inherited',
    );

    const error = await failed(app, {
      ...stdio('--crash'),
      env: { DEMO_SECRET: 'hunter2-secret' },
      operation: 'list_tools',
    });
    assert.match(
      error,
      /^mcp_executor: '.+' closed the connection \(connecting\) \(stderr: fatal: cannot open the database with password \*\*\*\)$/,
    );
    assert.ok(!error.includes('hunter2'));
  });

  test('a server hanging past timeout fails the task, and the program is killed even if it ignores SIGTERM', async (t) => {
    const app = await testApp(t, OPEN);
    const pidFile = tempFile(t, 'pid');
    const error = await failed(app, {
      ...stdio('--stubborn'),
      operation: 'call_tool',
      tool_name: 'hang',
      arguments: { pid_file: pidFile },
      timeout: 5,
    });
    assert.match(error, /^mcp_executor: '.+' timed out after 5s \(tools\/call\)$/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await eventually(() => gone(pid), 15_000);
  });

  test('cancelling the task cancels the request (the server hears it) and stops the program', async (t) => {
    const app = await testApp(t, OPEN);
    const pidFile = tempFile(t, 'pid');
    const cancelledFile = tempFile(t, 'cancelled');
    const inputs = {
      ...stdio(),
      operation: 'call_tool',
      tool_name: 'hang',
      arguments: { pid_file: pidFile, cancelled_file: cancelledFile },
    };
    const tree = await app.engine.createTree([{ name: 'mcp', schemas: { method: 'mcp_executor' }, inputs }]);
    const { done } = await app.engine.execute(tree.id);
    const pid = await eventually(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0), 30_000);
    assert.equal((await app.engine.cancel([tree.id]))[0]?.status, 'cancelled');
    assert.equal((await done).status, 'cancelled');
    await eventually(() => existsSync(cancelledFile), 15_000);
    await eventually(() => gone(pid), 15_000);
  });

  test('stdio is refused unless enabled (config or APFLOW_MCP_STDIO_ENABLED) and, with an allow list, for other programs', async (t) => {
    const off = await testApp(t);
    assert.equal(
      await failed(off, { ...stdio(), operation: 'list_tools' }),
      "mcp_executor: transport 'stdio' is disabled: set mcp.client.stdio.enabled: true (or APFLOW_MCP_STDIO_ENABLED=1) to allow starting MCP servers",
    );
    const listOnly = await testApp(t, { mcp: { client: { stdio: { enabled: true, allow: ['npx'] } } } });
    assert.equal(
      await failed(listOnly, { ...stdio(), operation: 'list_tools' }),
      `mcp_executor: command '${process.execPath}' is not in mcp.client.stdio.allow (npx); add it there (or to APFLOW_MCP_STDIO_ALLOW)`,
    );
    const byEnv = await testApp(
      t,
      {},
      { env: { APFLOW_MCP_STDIO_ENABLED: 'yes', APFLOW_MCP_STDIO_ALLOW: `npx, ${process.execPath}` } },
    );
    assert.equal((await completed(byEnv, { ...stdio(), operation: 'list_prompts' })).transport, 'stdio');
    // With an allow list, env may not change which program runs or what it loads.
    assert.equal(
      await failed(byEnv, { ...stdio(), env: { NODE_OPTIONS: '--require /tmp/x.js' }, operation: 'list_tools' }),
      'mcp_executor: env may not set NODE_OPTIONS while mcp.client.stdio.allow is set (it changes which program runs or what it loads)',
    );
  });
});

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
