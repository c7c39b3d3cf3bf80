import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testApp } from '../helpers.ts';

test('createApp listens on a port and answers /health, then closes', async (t) => {
  const app = await testApp(t);
  const { url, port } = await app.listen({ host: '127.0.0.1', port: 0 });
  assert.ok(port > 0);
  const response = await fetch(`${url}/health`);
  assert.equal(response.status, 200);
  const health = (await response.json()) as Record<string, unknown>;
  assert.equal(health.status, 'ok');
  assert.deepEqual((health.database as Record<string, unknown>).ok, true);
  assert.ok((health.plugins as string[]).includes('system'));
  await app.close();
  await assert.rejects(fetch(`${url}/health`));
});

test('inject reaches the current generation without a socket', async (t) => {
  const app = await testApp(t);
  const response = await app.inject({ method: 'GET', url: '/health' });
  assert.equal(response.statusCode, 200);
  assert.equal(
    response.json().version,
    JSON.parse((await import('node:fs')).readFileSync('package.json', 'utf8')).version,
  );
});

test('an embedding script runs with `node --import apflow/register` in a user project', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { tempProject } = await import('../helpers.ts');
  const dir = tempProject(t, {
    'app.ts': `import { createApp } from 'apflow';
const app = await createApp({ inline: { database: { url: 'sqlite::memory:' }, executors: { dirs: [] }, log: { level: 'silent' } } });
const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
const health = await (await fetch(url + '/health')).json();
await app.close();
console.log(JSON.stringify({ status: health.status }));
`,
  });
  const result = spawnSync(process.execPath, ['--import', 'apflow/register', 'app.ts'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout.trim()), { status: 'ok' });
});
