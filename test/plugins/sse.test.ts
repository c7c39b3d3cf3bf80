import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TaskEvent } from 'apflow';
import { started, repoRoot, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

interface Frame {
  id?: string;
  data?: Record<string, unknown>;
  comment?: boolean;
}

/** Reads SSE frames from `url` until the server ends the stream, or `stopAfter` frames. */
async function readFrames(
  url: string,
  headers: Record<string, string> = {},
  stopAfter = Infinity,
  body?: string,
): Promise<{ status: number; frames: Frame[] }> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers,
    signal: controller.signal,
    ...(body === undefined ? {} : { method: 'POST', body }),
  });
  if (!response.ok || !response.body) return { status: response.status, frames: [] };
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  const frames: Frame[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const frame: Frame = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) frame.comment = true;
          else if (line.startsWith('id: ')) frame.id = line.slice(4);
          else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
        }
        frames.push(frame);
        if (frames.filter((f) => f.data).length >= stopAfter) {
          controller.abort();
          return { status: response.status, frames };
        }
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  return { status: response.status, frames };
}

const events = (frames: Frame[]) =>
  frames.filter((frame) => frame.id).map((frame) => frame.data as unknown as TaskEvent);

test('a finished tree is replayed from the event log, then the stream ends with final and stream_end', async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const tree = await app.engine.createTree([
    { name: 'root', schemas: { method: 'noop' } },
    { name: 'child', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 5 } },
  ]);
  await started(await app.engine.execute(tree.id)).done;
  const child = tree.children?.[0]?.id as string;
  const { frames } = await readFrames(`${url}/tasks/${child}/events`);
  const replayed = events(frames);
  assert.deepEqual(replayed, await app.tasks.events(tree.id), 'every logged event, in order');
  assert.deepEqual(
    frames.filter((f) => f.id).map((f) => Number(f.id)),
    replayed.map((e) => e.seq),
  );
  assert.equal(replayed.at(-1)?.type, 'final');
  assert.deepEqual(frames.at(-1)?.data, { type: 'stream_end', task_id: tree.id });

  const resumed = events((await readFrames(`${url}/tasks/${tree.id}/events`, { 'last-event-id': '3' })).frames);
  assert.deepEqual(
    resumed.map((e) => e.seq),
    replayed.slice(3).map((e) => e.seq),
    'Last-Event-ID replays only what came after',
  );
});

test('a replay longer than one page of the event log is whole and in order', async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const tasks = [{ id: 'big', name: 'big', schemas: { method: 'noop' } }];
  for (let i = 0; i < 3000; i++)
    tasks.push({
      id: `big-${i}`,
      name: `leaf ${i}`,
      parent_id: 'big',
      schemas: { method: 'noop' },
    } as (typeof tasks)[number]);
  await app.engine.createTree(tasks);
  await started(await app.engine.execute('big')).done;
  const replayed = events((await readFrames(`${url}/tasks/big/events`)).frames);
  assert.ok(replayed.length > 6000, `over a page of events (got ${replayed.length})`);
  assert.deepEqual(
    replayed.map((e) => e.seq),
    Array.from({ length: replayed.length }, (_, i) => i + 1),
    'every seq once, in order',
  );
  assert.equal(replayed.at(-1)?.type, 'final');
});

test('live events arrive in order; a dropped connection resumed with Last-Event-ID loses nothing and repeats nothing', async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const tree = await app.engine.createTree([
    { name: 'root', schemas: { method: 'noop' } },
    ...Array.from({ length: 4 }, (_, i) => ({
      name: `s${i}`,
      parent_id: 'root',
      schemas: { method: 'sleep' },
      inputs: { ms: 60 },
    })),
  ]);
  const first = readFrames(`${url}/tasks/${tree.id}/events`, {}, 3);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const run = started(await app.engine.execute(tree.id));
  const part = events((await first).frames);
  assert.equal(part.length, 3);
  const rest = events(
    (await readFrames(`${url}/tasks/${tree.id}/events`, { 'last-event-id': String(part.at(-1)?.seq) })).frames,
  );
  await run.done;
  const all = [...part, ...rest];
  assert.deepEqual(
    all.map((e) => e.seq),
    all.map((_, i) => i + 1),
    'seq 1..n exactly once',
  );
  assert.deepEqual(all, await app.tasks.events(tree.id));
  assert.equal(all.filter((e) => e.type === 'task_completed').length, 5);
  assert.equal(all.at(-1)?.type, 'final');
});

test('errors: unknown task 404, bad Last-Event-ID 400; closing the server ends open streams at once', async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] }, server: { shutdown_timeout_s: 30 } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const missing = await fetch(`${url}/tasks/nope/events`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'APF_NOT_FOUND');
  const tree = await app.engine.createTree([{ name: 'idle', schemas: { method: 'noop' } }]);
  const bad = await fetch(`${url}/tasks/${tree.id}/events`, { headers: { 'last-event-id': 'x' } });
  assert.equal(bad.status, 400);
  const waiting = readFrames(`${url}/tasks/${tree.id}/events`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  await app.close();
  await waiting;
  assert.ok(Date.now() - started < 5000, 'the open stream did not hold the shutdown for shutdown_timeout_s');
});

test("the guide's curl -N: tasks.execute with use_streaming answers the envelope, then the run's events, final and stream_end", async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  await app.engine.createTree([
    { id: 'task-123', name: 'root', schemas: { method: 'echo' }, inputs: { hello: 'world' } },
    { id: 'kid', name: 'kid', parent_id: 'task-123', schemas: { method: 'sleep' }, inputs: { ms: 20 } },
  ]);
  const curl =
    '{"jsonrpc": "2.0", "method": "tasks.execute", "params": {"task_id": "task-123", "use_streaming": true}, "id": 1}';
  const run = async () =>
    (await readFrames(`${url}/tasks`, { 'Content-Type': 'application/json' }, Infinity, curl)).frames;
  const frames = await run();
  assert.deepEqual(frames[0]?.data, {
    jsonrpc: '2.0',
    id: 1,
    result: {
      success: true,
      protocol: 'jsonrpc',
      root_task_id: 'task-123',
      task_id: 'task-123',
      status: 'started',
      streaming: true,
      message: 'Task execution started with streaming',
      last_event_id: 0,
    },
  });
  const streamed = events(frames);
  assert.deepEqual(
    streamed.map((e) => e.type),
    ['progress', 'task_start', 'progress', 'task_completed', 'task_start', 'task_completed', 'final'],
  );
  assert.equal(streamed.at(-1)?.status, 'completed');
  assert.deepEqual(frames.at(-1)?.data, { type: 'stream_end', task_id: 'task-123' });
  assert.deepEqual(streamed, await app.tasks.events('task-123'));

  const again = events(await run());
  assert.equal(again[0]?.seq, (streamed.at(-1)?.seq as number) + 1, 'a second run streams only its own events');
  assert.equal(again.at(-1)?.type, 'final');
});

test('execute_task_tree on / streams too; use_streaming in a batch is refused', async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 'r1',
    method: 'execute_task_tree',
    params: { use_streaming: true, tasks: [{ id: 'solo', name: 'solo', schemas: { method: 'noop' } }] },
  });
  const { frames } = await readFrames(`${url}/`, { 'content-type': 'application/json' }, Infinity, body);
  assert.deepEqual(frames[0]?.data, {
    jsonrpc: '2.0',
    id: 'r1',
    result: {
      root_task_id: 'solo',
      task_id: 'solo',
      status: 'started',
      streaming: true,
      message: 'Task tree execution started with streaming',
      last_event_id: 0,
    },
  });
  assert.equal(events(frames).at(-1)?.type, 'final');
  const batch = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'tasks.execute', params: { task_id: 'solo', use_streaming: true } },
    ]),
  });
  const answer = (await batch.json()) as { error: { code: number; message: string } }[];
  assert.equal(answer[0]?.error.code, -32602);
  assert.match(answer[0]?.error.message ?? '', /not in a batch/);
});
