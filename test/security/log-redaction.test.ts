import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { createApp, type App } from 'apflow';
import { eventually, memoryLog, repoRoot, tempProject } from '../helpers.ts';

// Issue 18, finding 8: with log.requests: info, the request line held `/ws?token=<JWT>`.
// Credentials in URLs (query parameters, userinfo) and headers never reach a log line, whoever
// logs them: Fastify's request lines, error lines, or a plugin's own.

const SECRET = 'test-secret-that-is-long-enough-for-hs256!';

/** A plugin that fails with a URL in its error, and logs a URL and a raw request of its own. */
const noisyPlugin = `import { definePlugin } from 'apflow';
export default definePlugin({
  name: 'noisy',
  setup(app) {
    app.http.get('/boom', async () => { throw new Error('fetch failed for https://api.example/v1?api_key=sk-boom-secret-1&page=2'); });
    app.http.get('/chatty', async (request) => {
      request.log.warn({ url: 'https://hook.example/in?Secret=hook-secret-2&x=1' }, 'delivering');
      request.log.warn({ url: 'https://user:userinfo-secret-3@db.example/x' }, 'connecting');
      request.log.warn({ req: request.raw }, 'raw request');
      return { ok: true };
    });
  },
});
`;

test('request lines, error lines and plugin lines carry no token, key, password, cookie or authorization', async (t) => {
  const dir = tempProject(t, { 'noisy.ts': noisyPlugin });
  const log = memoryLog();
  const app: App = await createApp({
    env: {},
    cwd: repoRoot,
    logStream: log.stream,
    inline: {
      database: { url: 'sqlite::memory:' },
      executors: { dirs: [] },
      examples: { auto_init: false },
      auth: { jwt_secret: SECRET },
      plugins: [join(dir, 'noisy.ts')],
      log: { level: 'info', requests: 'info' },
    },
  });
  t.after(() => app.close());
  const jwt = String(await app.service('jwt-auth')?.mint('ann', [], '1h'));
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });

  // The WebSocket of the finding: its token in the query string.
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${jwt}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.close();

  const auth = { authorization: `Bearer ${jwt}` };
  const secrets = [
    'access-secret-4',
    'apikey-secret-5',
    'pass-secret-6',
    'jwt-secret-7',
    'auth-secret-8',
    'key-secret-9',
    'refresh-secret-10',
    'cookie-secret-11',
  ];
  const query = `access_token=${secrets[0]}&ApiKey=${secrets[1]}&PASSWORD=${secrets[2]}&jwt=${secrets[3]};auth=${secrets[4]}&key=${secrets[5]}&refresh%5Ftoken=${secrets[6]}&limit=5`;
  await fetch(`${url}/tasks?${query}`, { headers: { ...auth, cookie: `auth_token=${secrets[7]}` } });
  await fetch(`${url}/nowhere?token=${jwt}`, { headers: auth });
  assert.equal((await fetch(`${url}/boom?password=pass-secret-12`, { headers: auth })).status, 500);
  assert.equal(
    (
      await fetch(`${url}/chatty`, {
        headers: { ...auth, cookie: 'auth_token=cookie-secret-13', 'x-llm-api-key': 'sk-header-secret-14' },
      })
    ).status,
    200,
  );

  await eventually(() => log.lines.some((line) => line.msg === 'raw request'));
  // Every request but the WebSocket upgrade (it has no completion line) is complete.
  await eventually(() => log.lines.filter((line) => line.msg === 'request completed').length >= 4);
  const text = log.text();
  for (const secret of [
    jwt,
    ...secrets,
    'sk-boom-secret-1',
    'hook-secret-2',
    'userinfo-secret-3',
    'pass-secret-12',
    'cookie-secret-13',
    'sk-header-secret-14',
  ]) {
    assert.ok(!text.includes(secret), `${secret.slice(0, 24)}… reached the log`);
  }
  assert.doesNotMatch(text, /"(authorization|cookie|x-llm-api-key)":"(?!\[redacted\])/i, 'no header value is logged');

  // What is logged stays useful: the paths, the other parameters, and where a value was taken out.
  const urls = log.lines
    .filter((line) => line.msg === 'incoming request')
    .map((line) => (line.req as { url: string }).url);
  assert.ok(urls.includes('/ws?token=[redacted]'), urls.join('\n'));
  assert.ok(
    urls.includes(
      '/tasks?access_token=[redacted]&ApiKey=[redacted]&PASSWORD=[redacted]&jwt=[redacted];auth=[redacted]&key=[redacted]&refresh%5Ftoken=[redacted]&limit=5',
    ),
    urls.join('\n'),
  );
  assert.ok(urls.includes('/nowhere?token=[redacted]'), urls.join('\n'));
  const failed = log.lines.find((line) => line.msg === 'request failed');
  assert.match(
    String((failed?.err as { message?: string } | undefined)?.message),
    /^fetch failed for https:\/\/api\.example\/v1\?api_key=\[redacted\]&page=2$/,
  );
  assert.equal(
    log.lines.find((line) => line.msg === 'delivering')?.url,
    'https://hook.example/in?Secret=[redacted]&x=1',
  );
  assert.equal(log.lines.find((line) => line.msg === 'connecting')?.url, 'https://user:[redacted]@db.example/x');
  assert.deepEqual(Object.keys(log.lines.find((line) => line.msg === 'raw request')?.req as object).sort(), [
    'host',
    'method',
    'remoteAddress',
    'remotePort',
    'url',
  ]);
});
