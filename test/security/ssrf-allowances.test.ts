import assert from 'node:assert/strict';
import { test } from 'node:test';
import { started, eventually, httpReceiver, rpc, testApp } from '../helpers.ts';
import { listener, world } from './ssrf-setup.ts';

// Issue 18, finding 3: with auth on, any user could make rest_executor read loopback, private and
// link-local addresses (an internal admin port, a cloud metadata endpoint) and see the answer in
// the task result. Every network target a task or a client names now goes through one outbound
// policy (config `outbound`), checked on the very addresses each connection opens to.

test("the server's own address stays allowed: a task calling its /health, and the REST example tree, complete", async (t) => {
  const { app, url, run } = await world(t);
  const port = new URL(url).port;
  for (const target of [`${url}/health`, `http://localhost:${port}/health`]) {
    const outcome = await run('alice', target);
    assert.equal(outcome.status, 'completed', `${target}: ${outcome.error}`);
    assert.equal(outcome.result?.status_code, 200);
  }
  const examples = app.service('examples');
  assert.ok(examples);
  await examples.init();
  assert.equal(await examples.pointAtSelf(Number(port)), true);
  const { done } = started(await app.engine.execute('example-rest-health'));
  const outcome = await done;
  assert.equal(outcome.status, 'completed', JSON.stringify(outcome));
  assert.equal(((await app.tasks.get('example-rest-health'))?.result as { status_code: number }).status_code, 200);
});

test('outbound.allow_private allows private targets; outbound.deny_hosts still wins', async (t) => {
  const admin = await listener(t);
  const open = await world(t, { outbound: { allow_private: true } });
  const allowed = await open.run('bob', `http://127.0.0.1:${admin.port}/ok`);
  assert.equal(allowed.status, 'completed', allowed.error);
  assert.deepEqual(admin.hits, ['/ok']);

  const denied = await world(t, { outbound: { allow_private: true, deny_hosts: ['127.0.0.1'] } });
  const viaName = await denied.run('bob', `http://localhost:${admin.port}/no`);
  assert.equal(viaName.status, 'failed');
  assert.match(viaName.error ?? '', /is refused: localhost resolves to 127\.0\.0\.1, which is on outbound\.deny_hosts/);
  const direct = await denied.run('bob', `http://127.0.0.1:${admin.port}/no`);
  assert.match(direct.error ?? '', /is refused: 127\.0\.0\.1 is on outbound\.deny_hosts/);
  assert.deepEqual(admin.hits, ['/ok']);
});

test('webhooks.allow_hosts is an alias for webhooks only; outbound.allow_hosts also allows webhooks', async (t) => {
  const admin = await listener(t);
  const webhooksOnly = await world(t, { webhooks: { retry_base_s: 0.05, allow_hosts: ['127.0.0.1'] } });
  const refused = await webhooksOnly.run('bob', `http://127.0.0.1:${admin.port}/`);
  assert.equal(refused.status, 'failed', 'rest_executor is not opened by the webhooks alias');
  assert.deepEqual(admin.hits, []);

  const receiver = await httpReceiver(t);
  const outbound = await world(t, { outbound: { allow_hosts: ['127.0.0.1'] } });
  const jwt = outbound.app.service('jwt-auth');
  const answer = await rpc(
    outbound.url,
    '/tasks',
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tasks.execute',
      params: {
        tasks: [{ name: 'hooked', schemas: { method: 'aggregate_results_executor' } }],
        webhook_config: { url: receiver.url },
      },
    },
    { authorization: `Bearer ${await jwt?.mint('alice', [], '1h')}` },
  );
  assert.equal((answer.body?.error as unknown) ?? null, null, JSON.stringify(answer.body));
  await eventually(() => receiver.delivered().some((body) => body.final === true), 10_000);
});

test('APFLOW_OUTBOUND_* environment variables set the outbound section', async (t) => {
  const app = await testApp(
    t,
    {},
    {
      env: {
        APFLOW_OUTBOUND_ALLOW_PRIVATE: 'true',
        APFLOW_OUTBOUND_ALLOW_HOSTS: 'a.internal, 10.0.0.5',
        APFLOW_OUTBOUND_DENY_HOSTS: 'b.internal',
      },
    },
  );
  assert.deepEqual(app.config.outbound, {
    allow_private: true,
    allow_hosts: ['a.internal', '10.0.0.5'],
    deny_hosts: ['b.internal'],
  });
  await assert.rejects(
    testApp(t, {}, { env: { APFLOW_OUTBOUND_ALLOW_PRIVATE: 'maybe' } }),
    /APFLOW_OUTBOUND_ALLOW_PRIVATE must be true or false/,
  );
});
