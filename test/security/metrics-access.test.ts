import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createApp, type App } from 'apflow';
import { memoryLog, repoRoot, rpc, testApp } from '../helpers.ts';

// Issue 18, finding 12 (metrics part): any logged-in user could read the server-wide /metrics.
// With authentication on it needs an administrator or the scrape token (metrics.token, env
// APFLOW_METRICS_TOKEN), sent as Authorization: Bearer, as Prometheus' `authorization` sends it.

const SECRET = 'test-secret-that-is-long-enough-for-hs256!';
const SCRAPE = 'scrape-token-0123456789abcdef';

async function start(t: TestContext, inline: Record<string, unknown>, env: Record<string, string> = {}) {
  const app: App = await testApp(t, inline, { env });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const scrape = async (path: string, authorization?: string) => {
    const response = await fetch(`${url}${path}`, { headers: authorization ? { authorization } : {} });
    const text = await response.text();
    return {
      status: response.status,
      text,
      error: response.headers.get('content-type')?.startsWith('application/json')
        ? (JSON.parse(text) as { error: { code: string; message: string } }).error
        : undefined,
    };
  };
  return { app, url, scrape };
}

test('with authentication on, /metrics answers an administrator or the scrape token; a user gets 403, nobody 401', async (t) => {
  const { app, url, scrape } = await start(t, { auth: { jwt_secret: SECRET }, metrics: { token: SCRAPE } });
  const jwt = app.service('jwt-auth');
  const user = await jwt?.mint('ann', [], '1h');
  const admin = await jwt?.mint('root', ['admin'], '1h');

  const nobody = await scrape('/metrics');
  assert.equal(nobody.status, 401);
  const ann = await scrape('/metrics', `Bearer ${user}`);
  assert.equal(ann.status, 403);
  assert.equal(ann.error?.code, 'APF_FORBIDDEN');
  assert.match(ann.error?.message ?? '', /needs an administrator token or the scrape token \(metrics\.token/);
  for (const [who, authorization] of [
    ['an administrator', `Bearer ${admin}`],
    ['the scrape token', `Bearer ${SCRAPE}`],
    ['the scrape token, any scheme case', `bearer ${SCRAPE}`],
  ]) {
    const answer = await scrape('/metrics', authorization);
    assert.equal(answer.status, 200, `${who}: ${answer.text.slice(0, 200)}`);
    assert.match(answer.text, /^# HELP /m, who);
  }
  for (const wrong of [`Bearer ${SCRAPE}x`, `Bearer ${SCRAPE.slice(0, -1)}`, SCRAPE, `Basic ${SCRAPE}`]) {
    assert.equal((await scrape('/metrics', wrong)).status, 401, wrong);
  }
  // The scrape token is a credential of /metrics only.
  const elsewhere = await rpc(
    url,
    '/tasks',
    { jsonrpc: '2.0', id: 1, method: 'tasks.count' },
    { authorization: `Bearer ${SCRAPE}` },
  );
  assert.equal(elsewhere.status, 401);
  assert.equal((await fetch(`${url}/tasks?limit=1`, { headers: { authorization: `Bearer ${SCRAPE}` } })).status, 401);
});

test('without a scrape token, a user still gets 403 and an administrator reads; the env variable sets the token; a custom path is guarded too', async (t) => {
  const { app, scrape } = await start(
    t,
    { auth: { jwt_secret: SECRET }, metrics: { path: '/internal/metrics' } },
    { APFLOW_METRICS_TOKEN: SCRAPE },
  );
  const jwt = app.service('jwt-auth');
  assert.equal((await scrape('/internal/metrics', `Bearer ${await jwt?.mint('ann', [], '1h')}`)).status, 403);
  assert.equal((await scrape('/internal/metrics', `Bearer ${await jwt?.mint('root', ['admin'], '1h')}`)).status, 200);
  assert.equal((await scrape('/internal/metrics', `Bearer ${SCRAPE}`)).status, 200, 'APFLOW_METRICS_TOKEN');

  const bare = await start(t, { auth: { jwt_secret: SECRET } });
  const user = await bare.app.service('jwt-auth')?.mint('ann', [], '1h');
  assert.equal((await bare.scrape('/metrics', `Bearer ${user}`)).status, 403);
  assert.equal(
    (await bare.scrape('/metrics', `Bearer ${SCRAPE}`)).status,
    401,
    'no token configured: nothing but a JWT is accepted',
  );
});

test('with authentication off /metrics stays open, unless a scrape token is set', async (t) => {
  const open = await start(t, {});
  assert.equal((await open.scrape('/metrics')).status, 200);

  const guarded = await start(t, { metrics: { token: SCRAPE } });
  const refused = await guarded.scrape('/metrics');
  assert.equal(refused.status, 401);
  assert.match(refused.error?.message ?? '', /send Authorization: Bearer <metrics\.token>/);
  assert.equal((await guarded.scrape('/metrics', `Bearer ${SCRAPE}`)).status, 200);
  assert.equal((await guarded.scrape('/health')).status, 200, 'only /metrics is guarded');
});

test('a scrape token shorter than 16 characters stops the start with a clear message', async () => {
  await assert.rejects(
    createApp({
      env: { APFLOW_METRICS_TOKEN: 'short' },
      cwd: repoRoot,
      logStream: memoryLog().stream,
      inline: { database: { url: 'sqlite::memory:' }, executors: { dirs: [] } },
    }),
    (error: Error & { code?: string }) => {
      assert.match(error.message, /metrics\.token \(or APFLOW_METRICS_TOKEN\) must be at least 16 characters/);
      return true;
    },
  );
});
