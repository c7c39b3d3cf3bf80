import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import WebSocket from 'ws';
import type { App } from 'apflow';
import { rpc, testApp } from '../helpers.ts';

// Issue 18, finding 9 (cookie part): a token in a cookie is sent by the browser with requests
// other sites' pages make. Cookie-authenticated writes (every JSON-RPC call) must come from the
// server's own origin or one of server.cors_origins; Bearer requests are unaffected.

const SECRET = 'test-secret-that-is-long-enough-for-hs256!';
const REFUSED = /cookie-authenticated requests from another site are refused; send Authorization: Bearer/;

async function cookieApp(t: TestContext, corsOrigins: string[]) {
  const app = await testApp(t, { auth: { jwt_secret: SECRET }, server: { cors_origins: corsOrigins } });
  const token = await (app as App).service('jwt-auth')?.mint('ann', [], '1h');
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const count = async (headers: Record<string, string>) => {
    const answer = await rpc(url, '/tasks', { jsonrpc: '2.0', id: 1, method: 'tasks.count' }, headers);
    const error = answer.body?.error as { code?: number; message?: string } | undefined;
    return {
      status: answer.status,
      code: error?.code,
      message: error?.message ?? '',
      user: (answer.body?.result as { user_id?: string } | undefined)?.user_id,
    };
  };
  return { app, url, token: String(token), count };
}

test('a cookie-authenticated JSON-RPC call needs an Origin (or Referer) of the server itself or of server.cors_origins', async (t) => {
  const { url, token, count } = await cookieApp(t, ['https://app.example']);
  const cookie = `auth_token=${token}`;
  for (const [kind, headers] of [
    ['no Origin, no Referer', { cookie }],
    ['another site', { cookie, origin: 'https://evil.example' }],
    ['an opaque origin', { cookie, origin: 'null' }],
    ['another port of the same host', { cookie, origin: `${new URL(url).protocol}//${new URL(url).hostname}:1` }],
    ['a Referer of another site', { cookie, referer: 'https://evil.example/page' }],
  ] as [string, Record<string, string>][]) {
    const answer = await count(headers);
    assert.equal(answer.status, 200, kind);
    assert.equal(answer.code, -32003, kind);
    assert.match(answer.message, REFUSED, kind);
  }
  for (const [kind, headers] of [
    ['its own origin', { cookie, origin: url }],
    ['a listed origin', { cookie, origin: 'https://app.example' }],
    ['a Referer of its own page', { cookie, referer: `${url}/ui` }],
    ['the authorization cookie, own origin', { cookie: `authorization=Bearer%20${token}`, origin: url }],
  ] as [string, Record<string, string>][]) {
    assert.equal((await count(headers)).user, 'ann', kind);
  }
  assert.equal(
    (await count({ authorization: `Bearer ${token}`, origin: 'https://evil.example' })).user,
    'ann',
    'a Bearer header is not concerned',
  );
  const read = await fetch(`${url}/tasks`, { headers: { cookie } });
  assert.equal(read.status, 200, 'a GET with the cookie (no Origin) still reads');
});

test('server.cors_origins: ["*"] does not let cookie-authenticated calls from any site through', async (t) => {
  const { url, count, token } = await cookieApp(t, ['*']);
  assert.match((await count({ cookie: `auth_token=${token}`, origin: 'https://evil.example' })).message, REFUSED);
  assert.equal((await count({ cookie: `auth_token=${token}`, origin: url })).user, 'ann');
});

test('WebSocket messages authenticated by a cookie from another site are refused', async (t) => {
  const { url, token } = await cookieApp(t, ['*']);
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, {
    headers: { cookie: `auth_token=${token}`, origin: 'https://evil.example' },
  });
  t.after(() => ws.terminate());
  const outcome = await new Promise<string>((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(`upgrade refused ${res.statusCode}`));
    ws.on('error', (error) => resolve(`error ${error.message}`));
    ws.on('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tasks.count' })));
    ws.on('message', (data) => resolve(String(data)));
  });
  assert.doesNotMatch(outcome, /"result"/, 'no answer for the cookie-authenticated message');
  assert.match(outcome, REFUSED);
});
