import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import { listenLocal, testApp } from '../helpers.ts';
import { within } from '../fixtures/web-targets.ts';
import { failed, runOne } from './builtin-executors-setup.ts';

/**
 * A server that is not a well-behaved apflow: `/big/system` streams JSON without end, `/moved/system`
 * answers 307 to `elsewhere` (keeping the query), `/wordy/system` a JSON-RPC error of 10,000
 * characters. `seen` lists the requests, `ended` settles when a response finishes or is cut.
 */
async function hostileServer(t: TestContext, elsewhere = '') {
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  let ended: Promise<'finished' | 'closed early'> = Promise.resolve('finished');
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    seen.push({ path, headers: req.headers });
    ended = new Promise((resolve) =>
      res.once('close', () => resolve(res.writableFinished ? 'finished' : 'closed early')),
    );
    if (path === '/moved/system') return res.writeHead(307, { location: `${elsewhere}/system?key=1` }).end();
    if (path === '/wordy/system') {
      const error = { code: -32000, message: 'x'.repeat(10_000) };
      return res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id: 1, error }));
    }
    if (path !== '/big/system') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"jsonrpc":"2.0","id":1,"result":"');
    const chunk = 'x'.repeat(64 * 1024);
    const more = () => {
      while (!res.destroyed) if (!res.write(chunk)) return void res.once('drain', more);
    };
    more();
  });
  const base = `http://127.0.0.1:${await listenLocal(t, server)}`;
  return { base, seen, ended: () => ended };
}

describe('apflow_api_executor against a remote that misbehaves', () => {
  test('an answer past 16 MiB fails the task, and the rest is not downloaded', async (t) => {
    const app = await testApp(t, { outbound: { allow_hosts: ['127.0.0.1'] } });
    const hostile = await hostileServer(t);
    const error = failed(
      await runOne(app, 'apflow_api_executor', {
        base_url: `${hostile.base}/big`,
        method: 'system.health',
        timeout: 10,
      }),
    );
    assert.equal(
      error,
      `apflow_api_executor: system.health on ${hostile.base}/big answered more than 16 MiB (is base_url an apflow server?)`,
    );
    assert.equal(await within(hostile.ended(), 5000, 'the download ending'), 'closed early');
  });

  test('a redirect is not followed: the token and headers never reach another origin', async (t) => {
    const app = await testApp(t, { outbound: { allow_hosts: ['127.0.0.1', 'localhost'] } });
    const other = await hostileServer(t);
    const elsewhere = other.base.replace('127.0.0.1', 'localhost');
    const hostile = await hostileServer(t, elsewhere);
    const error = failed(
      await runOne(app, 'apflow_api_executor', {
        base_url: `${hostile.base}/moved`,
        method: 'system.health',
        auth_token: 'token-7d1e',
        headers: { 'X-Api-Key': 'key-4b2a' },
      }),
    );
    assert.equal(
      error,
      `apflow_api_executor: POST ${hostile.base}/moved/system (system.health) answered HTTP 307 redirecting to ` +
        `${elsewhere}/system; redirects are not followed (the token and headers would go along): give the final URL as base_url`,
    );
    assert.equal(hostile.seen[0]?.headers['x-api-key'], 'key-4b2a');
    assert.deepEqual(other.seen, [], 'nothing reached the other origin');
  });

  test('a remote error message is clipped to 2,000 characters', async (t) => {
    const app = await testApp(t, { outbound: { allow_hosts: ['127.0.0.1'] } });
    const hostile = await hostileServer(t);
    const error = failed(
      await runOne(app, 'apflow_api_executor', { base_url: `${hostile.base}/wordy`, method: 'system.health' }),
    );
    assert.equal(error, `apflow_api_executor: system.health on ${hostile.base}/wordy failed: ${'x'.repeat(2000)}…`);
  });

  test('inputs are checked: timeout at most a day, poll_interval at least 0.1 s', async (t) => {
    const app = await testApp(t);
    for (const inputs of [
      { base_url: 'http://x', timeout: 86_401 },
      { base_url: 'http://x', poll_interval: 0.01 },
      { base_url: 'ftp://x' },
    ]) {
      assert.match(
        failed(await runOne(app, 'apflow_api_executor', inputs)),
        /^Invalid inputs for executor 'apflow_api_executor'/,
      );
    }
  });
});
