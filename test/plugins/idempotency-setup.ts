/**
 * Shared setup of the idempotency tests: servers on a test database with the fixture executors,
 * JSON-RPC calls with headers, streamed answers read whole, and counts of the trees stored.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { repoRoot, rpc, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
/** The secret of the servers with authentication on. */
const SECRET = 'idempotency-test-secret-0123456789abcdef';

/** A JSON object. */
export type Json = Record<string, unknown>;
/** A JSON-RPC answer. */
export interface Envelope {
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** Options of one call: the endpoint (default `/tasks`) and extra headers (an `Idempotency-Key`, a token). */
export interface CallOptions {
  path?: string;
  headers?: Record<string, string>;
}

/** One task that sleeps `ms` (a fixture executor): long enough for retries to meet it working. */
export const sleepTree = (name: string, ms = 150) => [{ name, schemas: { method: 'sleep' }, inputs: { ms } }];

/**
 * A listening server on `database` (a URL from `testDatabases()`), with JSON-RPC callers; `auth`
 * turns authentication on (then `token(user)` mints a bearer token); `plugins` adds local plugins.
 */
export async function server(t: TestContext, database: string, options: { auth?: boolean; plugins?: string[] } = {}) {
  const app = await testApp(t, {
    database: { url: database },
    executors: { dirs: [fixtures] },
    server: { shutdown_timeout_s: 0 },
    ...(options.auth ? { auth: { jwt_secret: SECRET } } : {}),
    ...(options.plugins ? { plugins: options.plugins } : {}),
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  let next = 0;
  /** Calls `method` and returns the JSON-RPC answer (HTTP 200 checked). */
  const call = async (method: string, params: unknown, options: CallOptions = {}): Promise<Envelope> => {
    const body = { jsonrpc: '2.0', id: ++next, method, params };
    const answer = await rpc(url, options.path ?? '/tasks', body, options.headers);
    assert.equal(answer.status, 200, `${method}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as Envelope;
  };
  /** The result of a call that must succeed. */
  const ok = async <T = Json>(method: string, params: unknown, options?: CallOptions): Promise<T> => {
    const answer = await call(method, params, options);
    assert.equal(answer.error, undefined, `${method} failed: ${JSON.stringify(answer.error)}`);
    return answer.result as T;
  };
  /** The error of a call that must fail with `code`. */
  const fails = async (code: number, method: string, params: unknown, options?: CallOptions) => {
    const answer = await call(method, params, options);
    assert.equal(answer.error?.code, code, `${method}: expected error ${code}, got ${JSON.stringify(answer)}`);
    return answer.error as { code: number; message: string; data?: unknown };
  };
  /** How many trees (roots) are stored (the caller's own, with a token). */
  const trees = async (headers: Record<string, string> = {}) =>
    (await ok<{ total: number }>('tasks.count', { root_only: true }, { headers })).total;
  const token = async (user: string) => {
    const jwt = app.service('jwt-auth');
    assert.ok(jwt, 'the jwt-auth service');
    return { authorization: `Bearer ${await jwt.mint(user, [], '1h')}` };
  };
  return { app, url, call, ok, fails, trees, token };
}

/** A streamed answer read to its end: the first message (the JSON-RPC envelope) and the events after it. */
export async function streamed(url: string, method: string, params: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'stream', method, params }),
  });
  const text = await response.text();
  assert.equal(response.headers.get('content-type'), 'text/event-stream', text);
  const data = text
    .split('\n\n')
    .flatMap((block) => block.split('\n').filter((line) => line.startsWith('data: ')))
    .map((line) => JSON.parse(line.slice(6)) as Json);
  const [first, ...events] = data;
  assert.ok(first, 'the stream has its first message');
  return { first, events };
}

/**
 * A local plugin whose `probe.once {key, fail}` runs its work through `app.idempotency` (the
 * params left out of the fingerprint): the work counts its runs, and throws a plain error
 * (a server fault) when `fail` is set.
 */
export const probePlugin = `
import { definePlugin, Type } from 'apflow';
let runs = 0;
export default definePlugin({
  name: 'once-probe',
  setup(app) {
    app.rpc.method('/system', 'probe.once', {
      params: Type.Object({ key: Type.String(), fail: Type.Boolean() }),
      handler: (params) =>
        app.idempotency.once({ key: params.key, userId: null, method: 'probe.once', params: {} }, async () => {
          runs += 1;
          if (params.fail) throw new Error('the work broke');
          return { runs };
        }),
    });
  },
});
`;
