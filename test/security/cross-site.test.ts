import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createApp } from 'apflow';
import { freePort, launchApflow, memoryLog, repoRoot, rpc, tempProject, testApp, waitListening } from '../helpers.ts';

// Issue 18, finding 4: a web page on any site can send "simple requests" (text/plain, form
// encodings, or no Content-Type) to the server without a CORS preflight. Writes must be JSON, so
// the browser has to ask first; and a server without authentication that listens beyond
// loopback says so when it starts. Finding 9 (CORS part): "*" never comes with credentials.

const SECRET = 'test-secret-that-is-long-enough-for-hs256!';

/** A plugin with REST writes of its own, to show the rule covers every route, not only JSON-RPC. */
const restPlugin = `import { definePlugin } from 'apflow';
export default definePlugin({
  name: 'notes',
  setup(app) {
    const notes = new Map();
    app.http.post('/notes', async (request) => { notes.set('n', request.body); return { stored: request.body }; });
    app.http.put('/notes/:id', async (request) => { notes.set(request.params.id, request.body); return { stored: request.body }; });
    app.http.delete('/notes/:id', async (request) => ({ deleted: request.params.id, body: request.body ?? null }));
    app.http.get('/notes', async () => Object.fromEntries(notes));
  },
});
`;

/** A raw HTTP request (fetch would add a Content-Type of its own); answers status and parsed body. */
function send(url: string, method: string, path: string, headers: Record<string, string>, body?: string | string[]) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    // A string gets its Content-Length (Node sends DELETE bodies without one otherwise).
    const length: Record<string, string> =
      typeof body === 'string' && !('content-length' in headers)
        ? { 'content-length': String(Buffer.byteLength(body)) }
        : {};
    const req = request(`${url}${path}`, { method, headers: { ...length, ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }),
      );
    });
    req.on('error', reject);
    // An array is sent chunked (Transfer-Encoding, no Content-Length).
    for (const part of [body ?? []].flat()) req.write(part);
    req.end();
  });
}

async function openServer(t: TestContext, inline: Record<string, unknown> = {}) {
  const dir = tempProject(t, { 'notes.ts': restPlugin });
  const app = await testApp(t, { plugins: [join(dir, 'notes.ts')], ...inline });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

const create = (id: string) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tasks.create', params: [{ id, name: id }] });

test('a JSON-RPC call sent as a cross-site simple request (text/plain, a form, no Content-Type) is refused with 415 and not executed', async (t) => {
  const { app, url } = await openServer(t);
  const cases: [string, Record<string, string>, string | string[]][] = [
    ['text/plain', { 'content-type': 'text/plain;charset=UTF-8' }, create('plain')],
    ['a form', { 'content-type': 'application/x-www-form-urlencoded' }, create('form')],
    ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }, create('multi')],
    ['text/plain with a JSON parameter', { 'content-type': 'text/plain; application/json' }, create('param')],
    ['no Content-Type', {}, create('none')],
    ['no Content-Type, chunked', {}, [create('chunked').slice(0, 10), create('chunked').slice(10)]],
  ];
  for (const [kind, headers, body] of cases) {
    const answer = await send(url, 'POST', '/tasks', headers, body);
    assert.equal(answer.status, 415, kind);
    assert.equal(answer.body.jsonrpc, '2.0', `${kind}: the JSON-RPC envelope, as for 413`);
    assert.equal(answer.body.id, null, kind);
    const error = answer.body.error as { code: number; message: string };
    assert.equal(error.code, -32600, kind);
    assert.match(error.message, /must be JSON: send Content-Type: application\/json \(got /, kind);
  }
  const named = await send(url, 'POST', '/tasks', { 'content-type': 'text/plain' }, create('named'));
  assert.match((named.body.error as { message: string }).message, /got Content-Type 'text\/plain'/);
  const missing = await send(url, 'POST', '/tasks', {}, [create('x')]);
  assert.match((missing.body.error as { message: string }).message, /got no Content-Type/);
  for (const id of ['plain', 'form', 'multi', 'param', 'none', 'chunked', 'named'])
    assert.equal(await app.tasks.get(id), null, `${id} was not created`);

  for (const path of ['/', '/system']) {
    const answer = await send(
      url,
      'POST',
      path,
      { 'content-type': 'text/plain' },
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'system.health' }),
    );
    assert.equal(answer.status, 415, path);
  }
  const json = await rpc(url, '/tasks', create('json'));
  assert.equal(json.status, 200);
  assert.equal((await app.tasks.get('json'))?.name, 'json', 'application/json still works');
  const typed = await rpc(
    url,
    '/system',
    { jsonrpc: '2.0', id: 2, method: 'system.executors' },
    { 'content-type': 'application/json-rpc+json; charset=utf-8' },
  );
  assert.ok(typed.body?.result, 'an application/*+json type is JSON too');
  const empty = await send(url, 'POST', '/tasks', { 'content-type': 'text/plain', 'content-length': '0' });
  assert.equal(
    (empty.body.error as { code: number }).code,
    -32700,
    'a write without a body is not a body of the wrong type',
  );
});

test('every answer says nosniff: a success, a refusal and an unknown route', async (t) => {
  const { url } = await openServer(t);
  const answers = await Promise.all([
    fetch(`${url}/health`),
    fetch(`${url}/tasks`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: create('n1') }),
    fetch(`${url}/nosuch`),
  ]);
  assert.deepEqual(
    answers.map((answer) => answer.status),
    [200, 415, 404],
  );
  for (const answer of answers) assert.equal(answer.headers.get('x-content-type-options'), 'nosniff');
});

test('REST writes of any plugin (POST, PUT, DELETE with a body) take JSON only; reads and bodiless deletes are untouched', async (t) => {
  const { url } = await openServer(t);
  for (const [method, path] of [
    ['POST', '/notes'],
    ['PUT', '/notes/a'],
    ['DELETE', '/notes/a'],
  ]) {
    const refused = await send(url, method as string, path as string, { 'content-type': 'text/plain' }, '{"x":1}');
    assert.equal(refused.status, 415, `${method} ${path}`);
    assert.equal((refused.body.error as { code: string }).code, 'APF_UNSUPPORTED_MEDIA_TYPE');
    assert.match((refused.body.error as { message: string }).message, new RegExp(`^${method} bodies must be JSON`));
    const accepted = await send(
      url,
      method as string,
      path as string,
      { 'content-type': 'application/json' },
      '{"x":1}',
    );
    assert.equal(accepted.status, 200, `${method} ${path} as JSON`);
  }
  const patch = await send(url, 'PUT', '/notes/b', { 'content-type': 'application/merge-patch+json' }, '{"y":2}');
  assert.deepEqual(patch.body, { stored: { y: 2 } }, 'a +json type is parsed as JSON');
  assert.equal((await send(url, 'GET', '/notes', {})).status, 200);
  assert.equal(
    (await send(url, 'DELETE', '/notes/c', {})).status,
    200,
    'a DELETE without a body needs no Content-Type',
  );
  assert.deepEqual(
    (await send(url, 'GET', '/notes', {})).body,
    { n: { x: 1 }, a: { x: 1 }, b: { y: 2 } },
    'only the JSON writes were stored',
  );
  const unknown = await send(url, 'POST', '/nowhere', { 'content-type': 'text/plain' }, 'x');
  assert.equal(unknown.status, 404, 'an unknown route is still a 404');
});

test('a server without authentication warns at start when it listens beyond loopback', async () => {
  const listen = async (host: string, inline: Record<string, unknown> = {}) => {
    const log = memoryLog();
    const app = await createApp({
      env: {},
      cwd: repoRoot,
      logStream: log.stream,
      inline: {
        database: { url: 'sqlite::memory:' },
        executors: { dirs: [] },
        examples: { auto_init: false },
        ...inline,
      },
    });
    try {
      await app.listen({ host, port: 0 });
    } finally {
      await app.close();
    }
    return log.lines.filter((line) => line.level === 40 && /authentication off/.test(String(line.msg)));
  };
  const [warning, ...more] = await listen('0.0.0.0');
  assert.equal(more.length, 0);
  assert.match(
    String(warning?.msg),
    /^apflow listens on 0\.0\.0\.0:\d+ with authentication off: anyone who can reach this port can create and run tasks/,
  );
  assert.match(
    String(warning?.msg),
    /set auth\.enabled with auth\.jwt_secret \(env APFLOW_JWT_SECRET\), or listen on 127\.0\.0\.1/i,
  );
  assert.equal(warning?.host, '0.0.0.0');
  assert.equal((await listen('127.0.0.1')).length, 0, 'loopback: no warning');
  assert.equal((await listen('0.0.0.0', { auth: { jwt_secret: SECRET } })).length, 0, 'authentication on: no warning');
});

test('`apflow serve` on its default host logs the warning', { timeout: 60_000 }, async (t) => {
  const port = await freePort();
  const proc = launchApflow(t, ['serve', '--port', String(port)], {
    env: { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' },
  });
  await waitListening(proc);
  const lines = proc
    .stdout()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { level: number; msg: string });
  const warning = lines.find((line) => line.level === 40 && line.msg.includes('authentication off'));
  assert.ok(warning, proc.stdout());
  assert.match(warning.msg, new RegExp(`0\\.0\\.0\\.0:${port}`));
});

test('CORS: "*" answers "*" without credentials (a null Origin too); a listed origin is reflected with credentials; null only when listed', async (t) => {
  const call = (origin: string) => ({
    method: 'POST' as const,
    url: '/tasks',
    headers: { origin },
    payload: { jsonrpc: '2.0', id: 1, method: 'tasks.count' },
  });
  const preflight = (origin: string) => ({
    method: 'OPTIONS' as const,
    url: '/tasks',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });

  const any = await testApp(t, { server: { cors_origins: ['*', 'https://app.example/'] } });
  for (const origin of ['https://evil.example', 'null']) {
    for (const answer of [await any.inject(call(origin)), await any.inject(preflight(origin))]) {
      assert.equal(answer.headers['access-control-allow-origin'], '*', origin);
      assert.equal(
        answer.headers['access-control-allow-credentials'],
        undefined,
        `${origin}: never credentials with "*"`,
      );
    }
  }
  const listedToo = await any.inject(call('https://app.example'));
  assert.equal(
    listedToo.headers['access-control-allow-origin'],
    'https://app.example',
    'a listed origin beside "*" keeps its credentials',
  );
  assert.equal(listedToo.headers['access-control-allow-credentials'], 'true');

  const listed = await testApp(t, { server: { cors_origins: ['https://app.example'] } });
  const own = await listed.inject(preflight('https://app.example'));
  assert.equal(own.headers['access-control-allow-origin'], 'https://app.example');
  assert.equal(own.headers['access-control-allow-credentials'], 'true');
  assert.match(String(own.headers.vary), /origin/i, 'reflected answers vary by Origin');
  for (const origin of ['null', 'https://evil.example', 'https://app.example.evil.example']) {
    for (const answer of [await listed.inject(call(origin)), await listed.inject(preflight(origin))]) {
      assert.equal(answer.headers['access-control-allow-origin'], undefined, origin);
      assert.equal(answer.headers['access-control-allow-credentials'], undefined, origin);
    }
  }
  const sandboxed = await testApp(t, { server: { cors_origins: ['null'] } });
  assert.equal(
    (await sandboxed.inject(call('null'))).headers['access-control-allow-origin'],
    'null',
    'null when listed literally',
  );
});
