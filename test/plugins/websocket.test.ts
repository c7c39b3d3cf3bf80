import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import type { TaskEvent } from 'apflow';
import { started, repoRoot, tempProject, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** A `ws` client that collects messages and can wait for one matching a test. */
async function connect(url: string) {
  const socket = new WebSocket(url.replace('http', 'ws') + '/ws');
  const messages: Record<string, unknown>[] = [];
  const waiters: { test: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] =
    [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (!waiter.test(message)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return {
    socket,
    messages,
    send: (value: unknown) => socket.send(JSON.stringify(value)),
    next(test: (m: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>> {
      const found = messages.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no such message within the time')), timeoutMs);
        waiters.push({
          test,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
  };
}

test('subscribe streams a running tree live (the guide reads update.progress); a finished tree is replayed', async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const client = await connect(url);
  t.after(() => client.socket.close());
  const tree = await app.engine.createTree([
    { name: 'root', schemas: { method: 'noop' } },
    { name: 'nap', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 50 } },
  ]);
  client.send({ action: 'subscribe', task_id: tree.id });
  await client.next((m) => m.type === 'subscribed');
  await started(await app.engine.execute(tree.id)).done;
  await client.next((m) => m.type === 'stream_end');
  const live = client.messages.filter((m) => typeof m.seq === 'number') as unknown as TaskEvent[];
  assert.deepEqual(live, await app.tasks.events(tree.id));
  assert.ok(live.every((event) => typeof event.progress === 'number'));
  assert.equal(live.find((event) => event.message === 'half way')?.progress, 0.5);

  const late = await connect(url);
  t.after(() => late.socket.close());
  late.send({ action: 'subscribe', task_id: tree.id, last_seq: 2 });
  await late.next((m) => m.type === 'stream_end');
  const replayed = late.messages.filter((m) => typeof m.seq === 'number') as unknown as TaskEvent[];
  assert.deepEqual(replayed, live.slice(2), 'replayed after last_seq, ending with final');
  assert.equal(replayed.at(-1)?.type, 'final');
});

test('JSON-RPC requests over the socket are answered with the same id; ping, unsubscribe and bad messages get answers', async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const client = await connect(url);
  t.after(() => client.socket.close());
  client.send({
    jsonrpc: '2.0',
    id: 'c1',
    method: 'tasks.create',
    params: { tasks: [{ id: 'w1', name: 'w1', schemas: { method: 'echo' }, inputs: { a: 1 } }] },
  });
  const created = await client.next((m) => m.id === 'c1');
  assert.equal((created.result as { id: string }).id, 'w1');
  client.send({ jsonrpc: '2.0', id: 2, method: 'tasks.execute', params: { task_id: 'w1' } });
  const executed = await client.next((m) => m.id === 2);
  assert.equal((executed.result as { status: string }).status, 'completed');
  client.send({ jsonrpc: '2.0', id: 3, method: 'system.health' });
  assert.equal(((await client.next((m) => m.id === 3)).result as { status: string }).status, 'healthy');
  client.send({ jsonrpc: '2.0', id: 4, method: 'tasks.nope' });
  assert.equal(((await client.next((m) => m.id === 4)).error as { code: number }).code, -32601);
  client.send({ action: 'ping' });
  await client.next((m) => m.type === 'pong');
  client.send({ action: 'dance' });
  assert.match(String((await client.next((m) => m.type === 'error')).error), /unknown action 'dance'/);
  client.socket.send('{not json');
  await client.next((m) => m.error === 'message is not valid JSON');
  client.send({ action: 'subscribe', task_id: 'ghost' });
  await client.next((m) => m.error === 'Task ghost not found');
  client.send({ action: 'unsubscribe', task_id: 'w1' });
  await client.next((m) => m.type === 'unsubscribed');
});

test('closing the server closes the sockets promptly, with a reason', async (t) => {
  const app = await testApp(t, { executors: { dirs: [fixtures] }, server: { shutdown_timeout_s: 30 } });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const client = await connect(url);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    client.socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const started = Date.now();
  await app.close();
  const { code, reason } = await closed;
  assert.equal(code, 1001);
  assert.match(reason, /reconnect/);
  assert.ok(Date.now() - started < 5000);
});

test('every WebSocket message passes the request and auth hooks: a refused message gets an error, the socket stays open', async (t) => {
  const dir = tempProject(t, {
    'gate.ts': `import { ApflowError, definePlugin } from 'apflow';
const seen: unknown[] = [];
export default definePlugin({
  name: 'gate',
  setup(app) {
    app.hooks.request.tapPromise('gate', async (req) => {
      seen.push({ transport: req.transport, method: req.method, id: req.id });
      if (req.method === 'tasks.count') throw new ApflowError('APF_RATE_LIMITED', { message: 'slow down' });
      if (req.method === 'ws.ping' && seen.filter((s: any) => s.method === 'ws.ping').length > 1) throw new ApflowError('APF_RATE_LIMITED', { message: 'one ping is enough' });
    });
    app.hooks.auth.tapPromise('gate', async (req) => (req.transport === 'ws' ? { user_id: 'ws-user', roles: [] } : undefined));
    app.rpc.method('/system', 'gate.seen', { handler: async (_params, ctx) => ({ seen, principal: ctx.principal ?? null }) });
  },
});`,
  });
  const app = await testApp(t, { plugins: [join(dir, 'gate.ts')] });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const client = await connect(url);
  t.after(() => client.socket.close());

  client.send({ action: 'ping' });
  await client.next((m) => m.type === 'pong');
  client.send({ action: 'ping' });
  const refused = await client.next((m) => m.type === 'error');
  assert.equal(refused.error, 'one ping is enough');
  assert.equal(typeof refused.code, 'number');
  client.send({ jsonrpc: '2.0', id: 7, method: 'tasks.count' });
  const limited = await client.next((m) => m.id === 7);
  assert.deepEqual((limited.error as { message: string }).message, 'slow down');
  client.send({ jsonrpc: '2.0', id: 8, method: 'gate.seen' });
  const answer = (await client.next((m) => m.id === 8)).result as {
    seen: { transport: string; method: string; id: string }[];
    principal: unknown;
  };
  const ws = answer.seen.filter((entry) => entry.transport === 'ws');
  assert.deepEqual(
    ws.map((entry) => entry.method),
    ['ws.ping', 'ws.ping', 'tasks.count', 'gate.seen'],
    'one request-hook call per message, after the upgrade request',
  );
  assert.equal(new Set(ws.map((entry) => entry.id)).size, 4, 'each message has an id of its own');
  assert.deepEqual(answer.principal, { user_id: 'ws-user', roles: [] }, 'the auth hook answered for the message');
});
