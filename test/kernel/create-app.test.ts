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
  assert.equal(response.json().version, JSON.parse((await import('node:fs')).readFileSync('package.json', 'utf8')).version);
});
