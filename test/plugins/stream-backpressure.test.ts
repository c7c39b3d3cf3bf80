import assert from 'node:assert/strict';
import { get } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { started, repoRoot, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
// Twelve events of about 1 MB each: more than the loopback socket buffers hold for a client that does not read.
const bigTree = [
  { id: 'big-root', name: 'root', schemas: { method: 'noop' } },
  ...Array.from({ length: 12 }, (_, i) => ({
    id: `big${i}`,
    name: `big${i}`,
    parent_id: 'big-root',
    schemas: { method: 'big' },
    inputs: { size: 1_000_000, ms: 40 },
  })),
];

test(
  'a stalled SSE or WebSocket client is cut off with a reason; the run and a reading client are not held back',
  { timeout: 60_000 },
  async (t) => {
    const app = await testApp(t, {
      executors: { dirs: [fixtures] },
      // One task at a time, 40 ms apart: a client that reads keeps up, one that does not falls behind.
      engine: { concurrency: 1 },
      sse: { max_buffered_bytes: 3_000_000 },
      websocket: { max_buffered_bytes: 3_000_000 },
    });
    const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
    await app.engine.createTree(bigTree);

    // SSE: a client that stops reading at once.
    let sseText = '';
    const sseStalled = new Promise<() => Promise<void>>((resolve) => {
      get(`${url}/tasks/big-root/events`, (res) => {
        res.pause();
        res.socket.pause();
        resolve(
          () =>
            new Promise<void>((done) => {
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (sseText += chunk));
              res.on('end', () => done());
              res.socket.resume();
              res.resume();
            }),
        );
      });
    });
    const resumeSse = await sseStalled;

    // WebSocket: a client that stops reading once subscribed.
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    ws.send(JSON.stringify({ action: 'subscribe', task_id: 'big-root' }));
    await new Promise<void>((resolve) => ws.once('message', () => resolve()));
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    // A client that reads everything.
    const reader = new WebSocket(`${url.replace('http', 'ws')}/ws`);
    await new Promise((resolve) => reader.once('open', resolve));
    const got: number[] = [];
    const readerDone = new Promise<void>((resolve) =>
      reader.on('message', (data) => {
        const message = JSON.parse(String(data)) as { seq?: number; type?: string };
        if (typeof message.seq === 'number') got.push(message.seq);
        if (message.type === 'stream_end') resolve();
      }),
    );
    reader.send(JSON.stringify({ action: 'subscribe', task_id: 'big-root' }));

    const outcome = await started(await app.engine.execute('big-root')).done;
    assert.equal(outcome.status, 'completed', 'the run finished while two clients were stalled');
    await readerDone;
    assert.deepEqual(
      got,
      (await app.tasks.events('big-root')).map((event) => event.seq),
      'the reading client got every event',
    );
    reader.close();

    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const { code, reason } = await closed;
    assert.equal(code, 1013);
    assert.match(reason, /too slow.*last_seq/);

    await resumeSse();
    assert.match(sseText, /"type":"overflow"/, 'the SSE client is told why its stream ended');
    assert.doesNotMatch(sseText, /stream_end/, 'and it did not get the end of the run');
  },
);

test('SSE streams send keep-alive comments while a tree is idle', async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] }, sse: { keep_alive_s: 0.1 } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const tree = await app.engine.createTree([{ name: 'idle', schemas: { method: 'noop' } }]);
  const text = await new Promise<string>((resolve, reject) => {
    get(`${url}/tasks/${tree.id}/events`, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.includes(': keepalive')) {
          res.destroy();
          resolve(body);
        }
      });
    }).on('error', reject);
  });
  assert.match(text, /^: keepalive\n\n/m);
});
