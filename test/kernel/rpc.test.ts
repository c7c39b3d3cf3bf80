import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { rpc, tempProject, testApp } from '../helpers.ts';

const calc = `import { definePlugin, Type, ApflowError } from 'apflow';
export default definePlugin({
  name: 'calc',
  setup(app) {
    app.rpc.method('/calc', 'add', {
      params: Type.Object({ a: Type.Number(), b: Type.Number() }),
      handler: (p) => p.a + p.b,
    });
    app.rpc.method('/calc', 'sum', { params: Type.Array(Type.Number()), handler: (list) => list.reduce((x, y) => x + y, 0) });
    app.rpc.method('/calc', 'nothing', { handler: () => undefined });
    app.rpc.method('/calc', 'find', { handler: () => { throw new ApflowError('APF_NOT_FOUND', { message: 'Task t1 not found', data: { task_id: 't1' } }); } });
    app.rpc.method('/calc', 'crash', { handler: () => { throw new Error('secret-token-123 leaked?'); } });
  },
});`;

async function server(t: TestContext, inline: Record<string, unknown> = {}) {
  const dir = tempProject(t, { 'calc.ts': calc });
  const app = await testApp(t, { plugins: [join(dir, 'calc.ts')], ...inline });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return url;
}

test('a call answers with the result and echoes the id as given', async (t) => {
  const url = await server(t);
  for (const id of ['req-1', 42, null]) {
    const response = await rpc(url, '/calc', { jsonrpc: '2.0', id, method: 'add', params: { a: 2, b: 3 } });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { jsonrpc: '2.0', id, result: 5 });
  }
  const noId = await rpc(url, '/calc', { jsonrpc: '2.0', method: 'add', params: { a: 1, b: 1 } });
  assert.deepEqual(noId.body, { jsonrpc: '2.0', id: null, result: 2 });
  const undefinedResult = await rpc(url, '/calc', { jsonrpc: '2.0', id: 1, method: 'nothing' });
  assert.deepEqual(undefinedResult.body, { jsonrpc: '2.0', id: 1, result: null });
  const arrayParams = await rpc(url, '/calc', { jsonrpc: '2.0', id: 1, method: 'sum', params: [1, 2, 3] });
  assert.deepEqual(arrayParams.body, { jsonrpc: '2.0', id: 1, result: 6 });
});

test('envelope errors: parse error, invalid request, method not found — all on HTTP 200', async (t) => {
  const url = await server(t);
  const cases: [unknown, number, unknown][] = [
    ['{"jsonrpc": "2.0", "method": ', -32700, null],
    ['', -32700, null],
    [{ jsonrpc: '1.0', id: 1, method: 'add' }, -32600, 1],
    [{ id: 2, method: 'add' }, -32600, 2],
    [{ jsonrpc: '2.0', id: 3 }, -32600, 3],
    [{ jsonrpc: '2.0', id: { nested: true }, method: 'add' }, -32600, null],
    ['"just a string"', -32600, null],
    [[], -32600, null],
    [{ jsonrpc: '2.0', id: 4, method: 'multiply' }, -32601, 4],
    [{ jsonrpc: '2.0', id: 5, method: 'add', params: 'a,b' }, -32602, 5],
  ];
  for (const [body, code, id] of cases) {
    const response = await rpc(url, '/calc', body);
    assert.equal(response.status, 200, JSON.stringify(body));
    const error = (response.body as { error: { code: number; message: string } }).error;
    assert.equal(error.code, code, `${JSON.stringify(body)} → ${JSON.stringify(response.body)}`);
    assert.equal((response.body as { id: unknown }).id, id);
    assert.ok(error.message.length > 0);
  }
  const unknown = await rpc(url, '/calc', { jsonrpc: '2.0', id: 9, method: 'multiply' });
  assert.deepEqual(unknown.body, {
    jsonrpc: '2.0',
    id: 9,
    error: { code: -32601, message: 'Method not found', data: 'Unknown method on /calc: multiply' },
  });
});

test('invalid params name the parameter and what was expected', async (t) => {
  const url = await server(t);
  const response = await rpc(url, '/calc', { jsonrpc: '2.0', id: 1, method: 'add', params: { a: 'two' } });
  const error = (response.body as { error: { code: number; message: string } }).error;
  assert.equal(error.code, -32602);
  assert.match(error.message, /Invalid params for add:/);
  assert.match(error.message, /params\.a: must be number/);
  assert.match(error.message, /params\.b: is required/);
});

test('catalogue errors keep their code and message; internal errors hide theirs', async (t) => {
  const url = await server(t);
  const found = await rpc(url, '/calc', { jsonrpc: '2.0', id: 1, method: 'find' });
  assert.deepEqual(found.body, {
    jsonrpc: '2.0',
    id: 1,
    error: { code: -32004, message: 'Task t1 not found', data: { task_id: 't1' } },
  });
  const crash = await rpc(url, '/calc', { jsonrpc: '2.0', id: 2, method: 'crash' });
  assert.equal(crash.status, 200);
  const error = (crash.body as { error: { code: number; message: string; data: { request_id: string } } }).error;
  assert.equal(error.code, -32603);
  assert.equal(error.message, 'Internal error');
  assert.match(error.data.request_id, /^req-/);
  assert.doesNotMatch(JSON.stringify(crash.body), /secret-token-123|at .*\.ts/);
});

test('a batch is answered as a batch, in order, each call on its own', async (t) => {
  const url = await server(t);
  const response = await rpc(url, '/calc', [
    { jsonrpc: '2.0', id: 1, method: 'add', params: { a: 1, b: 2 } },
    { jsonrpc: '2.0', id: 2, method: 'nope' },
    'garbage',
    { jsonrpc: '2.0', id: 'x', method: 'find' },
  ]);
  assert.equal(response.status, 200);
  const body = response.body as unknown as { id: unknown; result?: unknown; error?: { code: number } }[];
  assert.equal(body.length, 4);
  assert.deepEqual(body[0], { jsonrpc: '2.0', id: 1, result: 3 });
  assert.equal(body[1]?.error?.code, -32601);
  assert.equal(body[2]?.error?.code, -32600);
  assert.equal(body[3]?.error?.code, -32004);
  const tooMany = await rpc(
    url,
    '/calc',
    Array.from({ length: 1001 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'nothing' })),
  );
  assert.equal((tooMany.body as { error: { code: number; message: string } }).error.code, -32600);
  assert.match((tooMany.body as { error: { message: string } }).error.message, /at most 1000/);
});

test('a body over server.body_limit gets 413 with a JSON-RPC error; the server keeps serving', async (t) => {
  const url = await server(t, { server: { body_limit: 4096 } });
  const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'add', params: { a: 1, b: 2, pad: 'x'.repeat(10_000) } });
  const response = await rpc(url, '/calc', big);
  assert.equal(response.status, 413);
  assert.equal((response.body as { jsonrpc: string }).jsonrpc, '2.0');
  assert.equal((response.body as { error: { code: number } }).error.code, -32600);
  assert.match((response.body as { error: { message: string } }).error.message, /larger than server\.body_limit/);
  const after = await rpc(url, '/calc', { jsonrpc: '2.0', id: 2, method: 'add', params: { a: 1, b: 2 } });
  assert.deepEqual(after.body, { jsonrpc: '2.0', id: 2, result: 3 });
});

test('JSON content types are read as JSON (any charset, +json types); other bodies get 415 in the JSON-RPC envelope', async (t) => {
  const url = await server(t);
  for (const contentType of [
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON',
    'application/json-rpc+json',
  ]) {
    const response = await rpc(
      url,
      '/calc',
      { jsonrpc: '2.0', id: 1, method: 'add', params: { a: 1, b: 1 } },
      { 'content-type': contentType },
    );
    assert.deepEqual(response.body, { jsonrpc: '2.0', id: 1, result: 2 }, contentType);
  }
  for (const contentType of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
    const response = await rpc(
      url,
      '/calc',
      { jsonrpc: '2.0', id: 1, method: 'add', params: { a: 1, b: 1 } },
      { 'content-type': contentType },
    );
    assert.equal(response.status, 415, contentType);
    assert.equal((response.body as { jsonrpc: string }).jsonrpc, '2.0');
    assert.match(
      (response.body as { error: { message: string } }).error.message,
      /send Content-Type: application\/json/,
    );
  }
});

test('unknown routes answer a 404 JSON error naming the route', async (t) => {
  const url = await server(t);
  const response = await fetch(`${url}/nowhere?x=1`);
  assert.equal(response.status, 404);
  assert.deepEqual(await response.json(), {
    error: { code: 'APF_ROUTE_NOT_FOUND', message: 'Route GET /nowhere not found' },
  });
  const wrongMethod = await fetch(`${url}/calc`);
  assert.equal(wrongMethod.status, 404);
});

/** A plugin that calls /calc's methods itself (as MCP and A2A call the tasks API): POST /call {method, params}. */
const caller = `import { definePlugin, isApflowError } from 'apflow';
export default definePlugin({
  name: 'caller',
  setup(app) {
    app.http.post('/call', async (request) => {
      const { method, params } = request.body as { method: string; params: unknown };
      try {
        return { result: await app.rpc.call('/calc', method, params, { request: request.apflow, principal: request.apflow.principal, log: request.log }) };
      } catch (error) {
        return isApflowError(error) ? { code: error.code, message: error.message, data: error.data ?? null } : { thrown: (error as Error).message };
      }
    });
  },
});`;

test('app.rpc.call runs a method for another transport: its result, or its own error as an ApflowError, params checked as over HTTP', async (t) => {
  const dir = tempProject(t, { 'calc.ts': calc, 'caller.ts': caller });
  const app = await testApp(t, { plugins: [join(dir, 'calc.ts'), join(dir, 'caller.ts')] });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = async (method: string, params?: unknown) =>
    (await rpc(url, '/call', { method, params })).body as Record<string, unknown>;

  assert.deepEqual(await call('add', { a: 2, b: 3 }), { result: 5 });
  assert.deepEqual(await call('nothing'), { result: null });
  const invalid = await call('add', { a: 'two' });
  assert.equal(invalid.code, 'APF_INVALID_PARAMS');
  assert.match(String(invalid.message), /params\.a: must be number/);
  assert.match(String(invalid.message), /params\.b: is required/);
  assert.deepEqual(await call('find', {}), {
    code: 'APF_NOT_FOUND',
    message: 'Task t1 not found',
    data: { task_id: 't1' },
  });
  assert.equal((await call('nope', {})).code, 'APF_METHOD_NOT_FOUND');
  assert.deepEqual(
    await call('crash', {}),
    { thrown: 'secret-token-123 leaked?' },
    'an internal error reaches the caller as it was, to log and hide',
  );
  let deep: unknown = 1;
  for (let i = 0; i < 300; i++) deep = [deep];
  const tooDeep = await call('sum', deep);
  assert.equal(tooDeep.code, 'APF_INVALID_PARAMS');
  assert.match(String(tooDeep.message), /more than 256 levels deep/);
});
