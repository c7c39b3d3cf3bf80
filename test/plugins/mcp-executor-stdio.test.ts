import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { started, eventually, repoRoot, testApp } from '../helpers.ts';
import { stdio, OPEN, completed, failed, gone, tempFile } from './mcp-executor-setup.ts';

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
    const { done } = started(await app.engine.execute(tree.id));
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
