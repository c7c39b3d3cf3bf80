// apflow as an MCP server over Streamable HTTP, driven by the official SDK's own Client: tools.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { McpError, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { server, connect, type ToolAnswer, text, chain } from './mcp-server-setup.ts';

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
