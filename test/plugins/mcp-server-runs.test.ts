// apflow as an MCP server over Streamable HTTP, driven by the official SDK's own Client: resources,
// cancelling, runs that outlive the call or the server generation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { McpError, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { eventually } from '../helpers.ts';
import { server, connect, resourceText, type ToolAnswer, text, chain } from './mcp-server-setup.ts';

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
