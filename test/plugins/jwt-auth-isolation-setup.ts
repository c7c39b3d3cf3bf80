/**
 * Shared setup of the user isolation tests: a server with auth on and alice's things in it (the
 * world), JSON-RPC answer helpers, an SSE reader and a WebSocket client.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import WebSocket from 'ws';
import { started, eventually, repoRoot, rpc, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
const SECRET = 'jwt-isolation-test-secret-0123456789abcd';
/** The header that asks for A2A protocol 1.0. */
export const V1 = { 'a2a-version': '1.0' };

type Who = 'alice' | 'bob' | 'root';
/** A JSON object. */
export type Json = Record<string, unknown>;
/** A JSON-RPC answer. */
export interface Envelope {
  jsonrpc?: string;
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** The answer with the JSON-RPC id left out. */
export function withoutId(value: unknown): Json {
  const { id: _id, ...rest } = value as Json;
  return rest;
}

/** The answer with the JSON-RPC id left out and `from` replaced by `to` everywhere. */
export function swapped(value: unknown, from: string, to: string): unknown {
  return JSON.parse(JSON.stringify(withoutId(value)).replaceAll(from, to));
}

/** The result of an answer that must not be an error. */
export function resultOf<T = Json>(answer: Envelope, what: string): T {
  assert.equal(answer.error, undefined, `${what}: unexpected error ${JSON.stringify(answer.error)}`);
  return answer.result as T;
}

/** The error of an answer that must fail with `code`. */
export function errorOf(answer: Envelope, code: number, what: string): { code: number; message: string } {
  assert.equal(answer.error?.code, code, `${what}: expected error ${code}, got ${JSON.stringify(answer)}`);
  return answer.error as { code: number; message: string };
}

/** An SSE stream read to its end (a finished tree ends with stream_end); non-2xx answers as JSON. */
async function readSse(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body?: unknown; events: Json[] }> {
  const response = await fetch(url, { headers });
  if (!response.ok || !response.body) return { status: response.status, body: await response.json(), events: [] };
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  const events: Json[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of block.split('\n'))
        if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)) as Json);
    }
  }
  return { status: response.status, events };
}

/** A `ws` client on `/ws` (with `query`) that collects messages and waits for one matching a test. */
export async function connect(url: string, query = '') {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/ws${query}`);
  const messages: Json[] = [];
  const waiters: { test: (m: Json) => boolean; resolve: (m: Json) => void }[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as Json;
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (!waiter.test(message)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let n = 0;
  const next = (check: (m: Json) => boolean, timeoutMs = 10_000): Promise<Json> => {
    const found = messages.find(check);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no such message within the time; got ${JSON.stringify(messages)}`)),
        timeoutMs,
      );
      waiters.push({ test: check, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  };
  return {
    socket,
    messages,
    next,
    send: (value: unknown) => socket.send(JSON.stringify(value)),
    /** A JSON-RPC request over the socket, answered with the same id. */
    async call(method: string, params: unknown): Promise<Envelope> {
      const id = `ws-${++n}`;
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      return (await next((m) => m.id === id)) as Envelope;
    },
    /** The first answer to an action message after the messages seen so far. */
    async action(value: Json, check: (m: Json) => boolean): Promise<Json> {
      const seen = messages.length;
      socket.send(JSON.stringify(value));
      return next((m) => messages.indexOf(m) >= seen && check(m));
    },
  };
}

/**
 * A server with auth on and alice's things in it: a pending tree (tasks.create), a finished tree
 * (execute_task_tree on POST /), a running tree (hang), a finished A2A task with its tree and an
 * A2A task waiting for input.
 */
export async function world(t: TestContext) {
  const app = await testApp(t, {
    auth: { jwt_secret: SECRET },
    executors: { dirs: [fixtures] },
    server: { shutdown_timeout_s: 0 },
    webhooks: { retry_base_s: 0.05, allow_hosts: ['127.0.0.1'] },
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const jwt = app.service('jwt-auth');
  assert.ok(jwt, 'the jwt-auth service');
  const tokens: Record<Who, string> = {
    alice: await jwt.mint('alice', [], '1h'),
    bob: await jwt.mint('bob', [], '1h'),
    root: await jwt.mint('root', ['admin'], '1h'),
  };
  const auth = (who: Who) => ({ authorization: `Bearer ${tokens[who]}` });
  let seq = 0;
  const call = async (
    who: Who,
    path: string,
    method: string,
    params?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Envelope> => {
    const answer = await rpc(
      url,
      path,
      { jsonrpc: '2.0', id: ++seq, method, ...(params === undefined ? {} : { params }) },
      { ...auth(who), ...headers },
    );
    assert.equal(answer.status, 200, `${who} ${path} ${method}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as Envelope;
  };
  const tasks = (who: Who, method: string, params?: unknown) => call(who, '/tasks', method, params);
  const a2a = (who: Who, method: string, params: unknown) => call(who, '/', method, params, V1);
  const getJson = async (who: Who, path: string) => {
    const response = await fetch(`${url}${path}`, { headers: auth(who) });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  const sse = (who: Who, id: string) => readSse(`${url}/tasks/${id}/events`, auth(who));

  const pending = resultOf<Json & { id: string; children: { id: string }[] }>(
    await tasks('alice', 'tasks.create', {
      tasks: [
        { name: 'a-root', schemas: { method: 'echo' }, inputs: { n: 1 } },
        { name: 'a-kid', parent_id: 'a-root', schemas: { method: 'sleep' }, inputs: { ms: 5 } },
      ],
    }),
    'alice tasks.create',
  );
  const kid = pending.children[0]?.id as string;
  const executed = resultOf<{ status: string; root_task_id: string }>(
    await call('alice', '/', 'execute_task_tree', {
      tasks: [{ name: 'x-root', schemas: { method: 'echo' }, inputs: { v: 2 } }],
    }),
    'alice execute_task_tree',
  );
  assert.equal(executed.status, 'completed');
  const hang = resultOf<{ id: string }>(
    await tasks('alice', 'tasks.create', [{ name: 'a-hang', schemas: { method: 'hang' } }]),
    'alice create hang',
  ).id;
  const run = started(await app.engine.execute(hang));
  void Promise.resolve(run.done).catch(() => undefined);
  await eventually(
    async () =>
      resultOf<Json[]>(await tasks('alice', 'tasks.running.status', { task_ids: [hang] }), 'running.status')[0]
        ?.status === 'in_progress',
  );

  const message = (parts: unknown[], extra: Json = {}) => ({
    message: { messageId: randomUUID(), role: 'ROLE_USER', parts, ...extra },
  });
  const a2aDone = resultOf<{ task: { id: string; status: { state: string }; metadata: { root_task_id: string } } }>(
    await a2a(
      'alice',
      'SendMessage',
      message([{ data: { tasks: [{ name: 'a2a-root', schemas: { method: 'echo' }, inputs: { said: 'hi' } }] } }]),
    ),
    'alice A2A SendMessage (tree)',
  ).task;
  assert.equal(a2aDone.status.state, 'TASK_STATE_COMPLETED');
  const a2aWaiting = resultOf<{ task: { id: string; status: { state: string } } }>(
    await a2a('alice', 'SendMessage', message([{ text: 'hello' }])),
    'alice A2A SendMessage (text)',
  ).task;
  assert.equal(a2aWaiting.status.state, 'TASK_STATE_INPUT_REQUIRED');

  const ids = {
    tree: pending.id,
    kid,
    executed: executed.root_task_id,
    hang,
    a2aRoot: a2aDone.metadata.root_task_id,
    a2aDone: a2aDone.id,
    a2aWaiting: a2aWaiting.id,
  };
  return { app, url, tokens, auth, tasks, call, a2a, getJson, sse, message, ids };
}

/** The server and clients `world` builds. */
export type World = Awaited<ReturnType<typeof world>>;

/** alice's task ids of the tasks API (every one of her trees, roots and a child). */
export const taskIds = (w: World) => [w.ids.tree, w.ids.kid, w.ids.executed, w.ids.hang, w.ids.a2aRoot];
