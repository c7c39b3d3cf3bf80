// `apflow mcp`: the MCP server on standard input and output, spawned as a desktop client would
// (the SDK's StdioClientTransport starting the real command), on a SQLite file in a temp project.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import {
  apflowBin,
  eventually,
  PROCESS_START_MS,
  processGone,
  repoRoot,
  spawnApflow,
  tempProject,
} from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** A project whose config points at the test executors and a SQLite file of its own. */
function project(t: TestContext): string {
  return tempProject(t, {
    'apflow.config.yaml': `database:\n  url: sqlite:.data/apflow.sqlite\nexecutors:\n  dirs: [${JSON.stringify(fixtures)}]\n`,
  });
}

/** Starts `apflow mcp` (with `args`) in `cwd` through the SDK and connects a client. */
async function start(t: TestContext, cwd: string, args: string[] = []) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [apflowBin, 'mcp', ...args],
    cwd,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk) => (stderr += String(chunk)));
  const client = new Client({ name: 'apflow-test', version: '1.0.0' });
  const errors: Error[] = [];
  client.onerror = (error) => errors.push(error);
  await client.connect(transport, { timeout: PROCESS_START_MS });
  t.after(() => client.close());
  return { client, transport, errors, stderr: () => stderr };
}

/** The text of a resource's first content. */
const resourceText = (read: { contents: ({ text: string } | { blob: string })[] }) => {
  const first = read.contents[0];
  return first && 'text' in first ? first.text : '';
};

type ToolAnswer = { content: { text?: string }[]; structuredContent?: Record<string, unknown>; isError?: boolean };

test(
  'apflow mcp: initialize, tools, a 3-task tree run with progress, and resources, with nothing but MCP on stdout',
  { timeout: 120_000 },
  async (t) => {
    const cwd = project(t);
    const { client, errors, transport } = await start(t, cwd);
    assert.equal(client.getServerVersion()?.name, 'apflow');
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    assert.ok(names.includes('execute_task') && names.includes('get_task_status'), names.join());

    const progress: Progress[] = [];
    const tasks = [
      { id: 's-root', name: 'root', schemas: { method: 'noop' } },
      { id: 's-a', name: 'first', parent_id: 's-root', schemas: { method: 'sleep' }, inputs: { ms: 20 } },
      {
        id: 's-b',
        name: 'second',
        parent_id: 's-root',
        schemas: { method: 'sleep' },
        inputs: { ms: 20 },
        dependencies: ['s-a'],
      },
    ];
    const answer = (await client.callTool({ name: 'execute_task', arguments: { tasks } }, undefined, {
      onprogress: (step) => progress.push(step),
    })) as ToolAnswer;
    assert.equal(answer.structuredContent?.status, 'completed', JSON.stringify(answer));
    assert.deepEqual(
      progress.filter((step) => Number.isInteger(step.progress)).map((step) => step.message),
      ['first: completed', 'second: completed', 'root: completed'],
    );

    const read = await client.readResource({ uri: 'task://s-b' });
    assert.equal((JSON.parse(resourceText(read)) as { status: string }).status, 'completed');
    assert.deepEqual(errors, [], 'every stdout line was an MCP message');

    // Closing stdin ends the process.
    const pid = transport.pid as number;
    await client.close();
    await eventually(() => processGone(pid), 20_000);

    // The tree is in the configured database: the other commands see it.
    const listed = spawnApflow(['tasks', 'status', 's-root'], { cwd });
    assert.equal(await listed.exited, 0, listed.stderr());
    assert.match(listed.stdout(), /completed/);
  },
);

test('apflow mcp --user-id: the session sees and creates only that user’s tasks', { timeout: 120_000 }, async (t) => {
  const cwd = project(t);
  const bob = await start(t, cwd, ['--user-id', 'bob']);
  const created = (await bob.client.callTool({
    name: 'create_task',
    arguments: { tasks: [{ id: 'bobs', name: 'bob’s', schemas: { method: 'noop' } }] },
  })) as ToolAnswer;
  assert.equal(created.structuredContent?.user_id, 'bob');
  await bob.client.close();

  const alice = await start(t, cwd, ['--user-id', 'alice']);
  const read = (await alice.client.callTool({ name: 'get_task', arguments: { task_id: 'bobs' } })) as ToolAnswer;
  assert.equal(read.isError, true);
  assert.match(String(read.content[0]?.text), /not found/);
  const listed = (await alice.client.callTool({ name: 'list_tasks', arguments: {} })) as ToolAnswer;
  assert.deepEqual(listed.structuredContent?.tasks, []);
});

test('apflow mcp with the mcp plugin disabled: one clear line and exit 1', { timeout: 60_000 }, async (t) => {
  const cwd = tempProject(t, {
    'apflow.config.yaml': 'database:\n  url: sqlite:.data/apflow.sqlite\ndisabled_plugins: [mcp]\n',
  });
  const proc = spawnApflow(['mcp'], { cwd, input: '' });
  assert.equal(await proc.exited, 1);
  assert.match(proc.stderr(), /^apflow: the mcp plugin is disabled/);
  assert.equal(proc.stdout(), '');
});
