import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import { started, eventually, freePort, listenLocal, testApp } from '../helpers.ts';
import { type Json, runOne, completed, failed } from './builtin-executors-setup.ts';

/** Rejects when `promise` has not settled within `ms`, naming what was awaited. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** What the test server saw of one request. */
interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  /** Settles when the connection of this request closes. */
  closed: Promise<void>;
}

/**
 * A local HTTP server on 127.0.0.1: `/fail` answers 500 with JSON, `/text` plain text, `/hang`
 * never answers, anything else echoes the request as JSON.
 */
async function startServer(t: TestContext): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const closed = new Promise<void>((resolve) => req.socket.once('close', () => resolve()));
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      seen.push({
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        closed,
      });
      if (url.pathname === '/hang') return;
      if (url.pathname === '/fail') {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'boom' }));
      } else if (url.pathname === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('plain text, not JSON');
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': 'test' });
        res.end(
          JSON.stringify({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body }),
        );
      }
    });
  });
  return { base: `http://127.0.0.1:${await listenLocal(t, server)}`, seen };
}

interface RestResult {
  url: string;
  method: string;
  status_code: number;
  headers: Record<string, string>;
  body: string;
  json: unknown;
  success: boolean;
}

// The test servers listen on 127.0.0.1, which the outbound policy refuses unless allowed.
const localTargets = { outbound: { allow_hosts: ['127.0.0.1'] } };

describe('rest_executor', () => {
  test('GET sends query params and headers; the result carries status, headers and parsed JSON', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startServer(t);
    const result = completed<RestResult>(
      await runOne(app, 'rest_executor', {
        url: `${base}/echo?keep=1`,
        params: { q: 'a b', n: 2, flag: true },
        headers: { 'X-Test': 'yes' },
      }),
    );
    assert.equal(seen.length, 1);
    const [request] = seen as [Seen];
    assert.equal(request.method, 'GET');
    assert.equal(request.path, '/echo');
    assert.deepEqual(Object.fromEntries(request.query), { keep: '1', q: 'a b', n: '2', flag: 'true' });
    assert.equal(request.headers['x-test'], 'yes');
    assert.equal(request.body, '');
    assert.equal(result.method, 'GET');
    assert.equal(result.status_code, 200);
    assert.equal(result.success, true);
    assert.equal(new URL(result.url).searchParams.get('q'), 'a b');
    assert.equal(result.headers['x-served-by'], 'test');
    assert.match(result.headers['content-type'] ?? '', /application\/json/);
    assert.deepEqual(result.json, JSON.parse(result.body));
    assert.deepEqual(result.json, {
      method: 'GET',
      path: '/echo',
      query: { keep: '1', q: 'a b', n: '2', flag: 'true' },
      body: '',
    });
  });

  test('json bodies are POSTed as application/json; data is sent as given', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startServer(t);
    const posted = completed<RestResult>(
      await runOne(app, 'rest_executor', { url: `${base}/items`, method: 'POST', json: { name: 'Ada', tags: [1, 2] } }),
    );
    assert.equal(posted.method, 'POST');
    assert.equal(seen[0]?.method, 'POST');
    assert.match(seen[0]?.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(seen[0]?.body ?? ''), { name: 'Ada', tags: [1, 2] });

    const implicit = completed<RestResult>(await runOne(app, 'rest_executor', { url: `${base}/items`, json: [1] }));
    assert.equal(implicit.method, 'POST', 'a body without a method is a POST');
    assert.equal(seen[1]?.method, 'POST');

    completed(
      await runOne(app, 'rest_executor', {
        url: `${base}/items/1`,
        method: 'PUT',
        data: 'raw=1',
        headers: { 'content-type': 'text/plain' },
      }),
    );
    assert.equal(seen[2]?.method, 'PUT');
    assert.equal(seen[2]?.body, 'raw=1');
    assert.equal(seen[2]?.headers['content-type'], 'text/plain');
  });

  test('bearer, basic and API-key (header or query) auth arrive as the server expects', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startServer(t);
    const call = async (auth: Json) => {
      completed(await runOne(app, 'rest_executor', { url: `${base}/secure`, auth }));
      return seen.at(-1) as Seen;
    };
    assert.equal((await call({ type: 'bearer', token: 'tok-123' })).headers.authorization, 'Bearer tok-123');
    const basic = await call({ type: 'basic', username: 'ada', password: 'p:ss wörd' });
    assert.equal(basic.headers.authorization, `Basic ${Buffer.from('ada:p:ss wörd').toString('base64')}`);
    const header = await call({ type: 'apikey', key: 'X-Api-Key', value: 'k1' });
    assert.equal(header.headers['x-api-key'], 'k1');
    assert.equal(header.query.get('X-Api-Key'), null);
    const query = await call({ type: 'apikey', key: 'api_key', value: 'k 2', location: 'query' });
    assert.equal(query.query.get('api_key'), 'k 2');
    assert.equal(query.headers.api_key, undefined);
    assert.equal(query.headers.authorization, undefined);
  });

  test('an HTTP error status is a completed task with success false', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startServer(t);
    const result = completed<RestResult>(await runOne(app, 'rest_executor', { url: `${base}/fail` }));
    assert.equal(result.status_code, 500);
    assert.equal(result.success, false);
    assert.deepEqual(result.json, { error: 'boom' });
  });

  test('a body that is not JSON gives json null and the text in body', async (t) => {
    const app = await testApp(t, localTargets);
    const { base } = await startServer(t);
    const result = completed<RestResult>(await runOne(app, 'rest_executor', { url: `${base}/text` }));
    assert.equal(result.json, null);
    assert.equal(result.body, 'plain text, not JSON');
    assert.equal(result.success, true);
  });

  test('a server that never answers fails the task after the timeout, and the connection is dropped', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startServer(t);
    const error = failed(await runOne(app, 'rest_executor', { url: `${base}/hang`, timeout: 0.2 }));
    assert.match(error, /timed out after 0\.2s/);
    assert.ok(error.includes(`${base}/hang`), error);
    await within(
      seen[0]?.closed ?? Promise.reject(new Error('no request')),
      5000,
      'the server seeing the connection close',
    );
  });

  test('a refused connection fails the task with the cause', async (t) => {
    const app = await testApp(t, localTargets);
    const url = `http://127.0.0.1:${await freePort()}/nothing`;
    const error = failed(await runOne(app, 'rest_executor', { url }));
    assert.ok(error.includes(url), error);
    assert.match(error, /ECONNREFUSED/);
  });

  test('a url that is not http(s) fails input validation', async (t) => {
    const app = await testApp(t, localTargets);
    for (const url of ['ftp://x', 'x']) {
      assert.match(
        failed(await runOne(app, 'rest_executor', { url })),
        /^Invalid inputs for executor 'rest_executor': .*url/,
      );
    }
    assert.match(failed(await runOne(app, 'rest_executor', {})), /^Invalid inputs for executor 'rest_executor': .*url/);
  });

  test('cancelling the task aborts the request in flight', async (t) => {
    const app = await testApp(t, localTargets);
    const { base, seen } = await startServer(t);
    const tree = await app.engine.createTree([
      { name: 'call', schemas: { method: 'rest_executor' }, inputs: { url: `${base}/hang` } },
    ]);
    const { done } = started(await app.engine.execute(tree.id));
    await eventually(() => seen.length === 1);
    assert.deepEqual(await app.engine.cancel([tree.id]), [
      { task_id: tree.id, status: 'cancelled', message: 'Cancelled by user' },
    ]);
    assert.equal((await done).status, 'cancelled');
    await within((seen[0] as Seen).closed, 5000, 'the server seeing the connection close');
    assert.equal((await app.tasks.get(tree.id))?.status, 'cancelled');
  });
});
