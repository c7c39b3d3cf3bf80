import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApp } from 'apflow';
import { memoryLog, testApp } from '../helpers.ts';

const preflight = {
  method: 'OPTIONS',
  url: '/tasks',
  headers: {
    origin: 'http://localhost:3000',
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'content-type,authorization',
  },
} as const;

test('CORS: off by default; the configured origins get preflights and headers, others do not', async (t) => {
  const closed = await testApp(t);
  assert.equal((await closed.inject(preflight)).headers['access-control-allow-origin'], undefined);

  const app = await testApp(t, { server: { cors_origins: ['http://localhost:3000'] } });
  const answer = await app.inject(preflight);
  assert.equal(answer.statusCode, 204);
  assert.equal(answer.headers['access-control-allow-origin'], 'http://localhost:3000');
  assert.equal(answer.headers['access-control-allow-credentials'], 'true');
  assert.match(String(answer.headers['access-control-allow-headers']), /Authorization/i);
  const call = await app.inject({
    method: 'POST',
    url: '/tasks',
    headers: { origin: 'http://localhost:3000' },
    payload: { jsonrpc: '2.0', id: 1, method: 'tasks.count' },
  });
  assert.equal(call.statusCode, 200);
  assert.equal(call.headers['access-control-allow-origin'], 'http://localhost:3000');
  const stranger = await app.inject({
    method: 'POST',
    url: '/tasks',
    headers: { origin: 'http://evil.example' },
    payload: { jsonrpc: '2.0', id: 1, method: 'tasks.count' },
  });
  assert.equal(stranger.headers['access-control-allow-origin'], undefined);
});

test("the guide's environment names: AIPARTNERUPFLOW_CORS_ORIGINS (a list) and AIPARTNERUPFLOW_CORS_ALLOW_ALL; preflights pass authentication", async (t) => {
  const start = async (env: Record<string, string>, inline: Record<string, unknown> = {}) => {
    const app = await createApp({
      env,
      logStream: memoryLog().stream,
      inline: { database: { url: 'sqlite::memory:' }, executors: { dirs: [] }, ...inline },
    });
    t.after(() => app.close());
    return app;
  };
  const listed = await start({ AIPARTNERUPFLOW_CORS_ORIGINS: 'http://a.example, http://localhost:3000' });
  assert.equal((await listed.inject(preflight)).headers['access-control-allow-origin'], 'http://localhost:3000');
  const any = await start({
    AIPARTNERUPFLOW_CORS_ALLOW_ALL: 'true',
    APFLOW_JWT_SECRET: 'a-secret-that-is-long-enough-for-hs256!!',
  });
  const answer = await any.inject({
    ...preflight,
    headers: { ...preflight.headers, origin: 'http://anywhere.example' },
  });
  assert.equal(answer.statusCode, 204, 'a preflight needs no token');
  assert.equal(answer.headers['access-control-allow-origin'], '*', 'any origin: "*", never the caller reflected');
  assert.equal(answer.headers['access-control-allow-credentials'], undefined, 'never credentials with "*"');
  assert.equal(
    (await any.inject({ method: 'POST', url: '/tasks', payload: { jsonrpc: '2.0', id: 1, method: 'tasks.count' } }))
      .statusCode,
    401,
    'the call itself still does',
  );
});
