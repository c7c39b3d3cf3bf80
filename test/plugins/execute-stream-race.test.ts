import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runs } from '../fixtures/executors/_runs.ts';
import { eventually, repoRoot, rpc, sleep, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

interface Streamed {
  seq: number;
  type: string;
}

/**
 * POSTs a streaming `tasks.execute` and reads its answer: the events of an SSE stream, or
 * `null` when the server answered plain JSON (the tree was still running).
 */
async function streamExecute(url: string, taskId: string): Promise<Streamed[] | null> {
  const response = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tasks.execute',
      params: { task_id: taskId, use_streaming: true },
    }),
  });
  const text = await response.text();
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) return null;
  const seen: Streamed[] = [];
  for (const block of text.split('\n\n')) {
    if (!block.split('\n').some((line) => line.startsWith('id: '))) continue;
    const data = block.split('\n').find((line) => line.startsWith('data: '));
    if (data) seen.push(JSON.parse(data.slice(6)) as Streamed);
  }
  return seen;
}

test("a stream begun while the tree's previous run is ending follows only its own run", async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  await app.engine.createTree([
    { id: 'race', name: 'race', schemas: { method: 'noop' } },
    { id: 'race-slow', name: 'slow', parent_id: 'race', schemas: { method: 'sleep' }, inputs: { ms: 120 } },
  ]);
  // Streaming executes, one after the other, across the end of a run: the one that begins the
  // next run often arrived while the previous run was still writing its last events. Reading the
  // tree's seq before beginning (as the tasks API once did) makes that stream start inside the
  // old run and stop at its `final`; the run's own first seq never does.
  for (let round = 0; round < 6; round++) {
    const asked = Date.now();
    // A plain tasks.execute answers when its run has ended.
    const first = rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.execute', params: { task_id: 'race' } });
    const slow = await eventually(() => runs().find((run) => run.task === 'race-slow' && run.start >= asked));
    await sleep(slow.start + 80 - Date.now());
    // One request at a time, until one begins the next run.
    let stream: Streamed[] | null = null;
    let refused = 0;
    while (!(stream = await streamExecute(url, 'race'))) refused++;
    assert.ok(refused > 0, 'the first streaming executes found the run still going');
    const ended = (await first).body?.result as Record<string, unknown> | undefined;
    assert.equal(ended?.status, 'completed', JSON.stringify(ended));
    const finals = async () =>
      ((await app.tasks.events('race')) as Streamed[]).filter((event) => event.type === 'final');
    const previousFinal = (await finals())[2 * round]?.seq as number;
    assert.ok(
      stream.every((event) => event.seq > previousFinal),
      `round ${round}: the stream holds no event of the previous run (its final is ${previousFinal}; streamed ${stream.map((e) => `${e.seq}:${e.type}`).join(' ')})`,
    );
    await eventually(async () => (await finals()).length === 2 * (round + 1));
    const log = (await app.tasks.events('race')) as Streamed[];
    assert.deepEqual(
      stream,
      log.filter((event) => event.seq > previousFinal),
      `round ${round}: the stream is its run's events, from the first to its final`,
    );
  }
});
