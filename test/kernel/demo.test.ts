import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { started, rpc, tempProject, testApp } from '../helpers.ts';

// Executors that record every real call in a global list, so a test can prove none happened.
const recorders = `import { defineExecutor } from 'apflow';
const calls = (globalThis.demoTestCalls ??= []);
export default [
  defineExecutor({
    id: 'recorder',
    execute(inputs) { calls.push('recorder'); return { real: true }; },
    demoResult(inputs, ctx) { return { demo_answer: inputs.x ?? 0, task: ctx.task_id, _demo_sleep: 0.01 }; },
  }),
  defineExecutor({
    id: 'recorder_plain',
    execute() { calls.push('recorder_plain'); return { real: true }; },
  }),
];`;

const calls = () => ((globalThis as { demoTestCalls?: string[] }).demoTestCalls ??= []);

async function demoServer(t: TestContext) {
  const dir = tempProject(t, { 'executors/recorders.ts': recorders });
  const app = await testApp(
    t,
    { executors: { dirs: [join(dir, 'executors')] }, examples: { auto_init: false } },
    { cwd: dir },
  );
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

const tree = (suffix: string) => [
  {
    id: `root-${suffix}`,
    name: 'root',
    schemas: { method: 'recorder' },
    inputs: { x: 7 },
    dependencies: [{ id: `plain-${suffix}`, required: true }],
  },
  { id: `plain-${suffix}`, parent_id: `root-${suffix}`, name: 'plain', schemas: { method: 'recorder_plain' } },
];

test('use_demo on tasks.execute returns demo results and never calls execute; without it the executors run', async (t) => {
  const { app, url } = await demoServer(t);
  calls().length = 0;
  const answer = await rpc(url, '/tasks', {
    jsonrpc: '2.0',
    id: 1,
    method: 'tasks.execute',
    params: { tasks: tree('a'), use_demo: true },
  });
  const result = answer.body?.result as Record<string, unknown>;
  assert.equal(result.status, 'completed', JSON.stringify(answer.body));
  assert.deepEqual(
    result.result,
    { demo_answer: 7, task: 'root-a', demo_mode: true },
    '_demo_sleep is removed, demo_mode added',
  );
  const plain = await app.tasks.get('plain-a');
  assert.deepEqual(plain?.result, {
    result: 'Demo execution result',
    demo_mode: true,
    executor: 'recorder_plain',
    note: 'no demo result: nothing was run',
  });
  assert.deepEqual(calls(), [], 'no executor ran');

  // The same stored tree, run again by id without use_demo: the flag was for that run only.
  const real = await rpc(url, '/tasks', {
    jsonrpc: '2.0',
    id: 2,
    method: 'tasks.execute',
    params: { task_id: 'root-a' },
  });
  assert.deepEqual((real.body?.result as Record<string, unknown>).result, { real: true });
  assert.deepEqual(calls().sort(), ['recorder', 'recorder_plain']);
});

test('use_demo with use_streaming: the streamed run is a demo run too', async (t) => {
  const { app, url } = await demoServer(t);
  calls().length = 0;
  const response = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tasks.execute',
      params: { tasks: tree('s'), use_demo: true, use_streaming: true },
    }),
  });
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const text = await response.text();
  assert.match(text, /stream_end/);
  assert.match(text, /"demo_mode":true/);
  assert.equal((await app.tasks.get('root-s'))?.status, 'completed');
  assert.deepEqual((await app.tasks.get('root-s'))?.result, { demo_answer: 7, task: 'root-s', demo_mode: true });
  assert.deepEqual(calls(), []);
});

test('engine.execute with demo: true, directly: demo results, no execute call', async (t) => {
  const { app } = await demoServer(t);
  calls().length = 0;
  const created = await app.engine.createTree(tree('e'));
  const { done } = started(await app.engine.execute(created.id, { demo: true }));
  const outcome = await done;
  assert.equal(outcome.status, 'completed');
  assert.deepEqual(outcome.result, { demo_answer: 7, task: 'root-e', demo_mode: true });
  assert.deepEqual(calls(), []);
});

test('a demo run handed to another server (graceful stop mid-run) stays a demo there: the flag is stored with the run', async (t) => {
  const slowDemo = `import { defineExecutor } from 'apflow';
const calls = (globalThis.demoTestCalls ??= []);
export default defineExecutor({
  id: 'slow_demo',
  execute() { calls.push('slow_demo'); return { real: true }; },
  demoResult(inputs) { return { demo_answer: inputs.x ?? 0, _demo_sleep: inputs.s ?? 0.01 }; },
});`;
  const dir = tempProject(t, { 'executors/slow-demo.ts': slowDemo });
  const file = join(dir, 'shared.sqlite');
  const settings = {
    database: { url: `sqlite:${file}` },
    executors: { dirs: [join(dir, 'executors')] },
    examples: { auto_init: false },
    server: { shutdown_timeout_s: 0 },
  };
  const first = await testApp(t, settings, { cwd: dir });
  calls().length = 0;
  // Demo results that take 3 s each: the first server is stopped while they wait.
  const slow = [
    { id: 'slow-root', name: 'root', schemas: { method: 'slow_demo' }, inputs: { x: 1 } },
    ...[1, 2, 3].map((i) => ({
      id: `slow-${i}`,
      parent_id: 'slow-root',
      name: `leaf ${i}`,
      schemas: { method: 'slow_demo' },
      inputs: { x: i, s: 3 },
    })),
  ];
  await first.engine.createTree(slow);
  const { done } = started(await first.engine.execute('slow-root', { demo: true }));
  void done;
  await first.close();
  const second = await testApp(t, settings, { cwd: dir });
  const finished = await (async () => {
    for (let i = 0; i < 200; i++) {
      const root = await second.tasks.get('slow-root');
      if (root?.status === 'completed' || root?.status === 'failed') return second.tasks.tree('slow-root');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the tree did not finish on the second server');
  })();
  for (const row of finished)
    assert.equal((row.result as { demo_mode?: boolean } | null)?.demo_mode, true, `${row.id} ended with a demo result`);
  assert.deepEqual(calls(), [], 'no executor ran for real on either server');
});
