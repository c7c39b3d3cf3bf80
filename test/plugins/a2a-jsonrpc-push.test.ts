import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { V1, a2aApp, v03Message, v1Message, assertError } from './a2a-jsonrpc-setup.ts';

test('a push URL on 127.0.0.1 is refused without a2a.push.allow_hosts, in both versions', async (t) => {
  const { app, call } = await a2aApp(t);
  const v1Task = (
    (await call({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: v1Message() } }, V1)).result
      ?.task as { id: string }
  ).id;
  const refused1 = await call(
    {
      jsonrpc: '2.0',
      id: 2,
      method: 'CreateTaskPushNotificationConfig',
      params: { taskId: v1Task, url: 'http://127.0.0.1:9/hook', token: 'secret-token-1' },
    },
    V1,
  );
  assertError(refused1, -32602, 2);
  assert.match(refused1.error?.message ?? '', /not a public address/);
  assert.ok(!JSON.stringify(refused1).includes('secret-token-1'));

  const v03Task = (
    (await call({ jsonrpc: '2.0', id: 3, method: 'message/send', params: { message: v03Message() } })).result as {
      id: string;
    }
  ).id;
  const refused03 = await call({
    jsonrpc: '2.0',
    id: 4,
    method: 'tasks/pushNotificationConfig/set',
    params: { taskId: v03Task, pushNotificationConfig: { url: 'http://127.0.0.1:9/hook', token: 'secret-token-2' } },
  });
  assertError(refused03, -32602, 4);
  assert.match(refused03.error?.message ?? '', /not a public address/);
  const inline = await call(
    {
      jsonrpc: '2.0',
      id: 5,
      method: 'SendMessage',
      params: {
        message: v1Message(),
        configuration: { taskPushNotificationConfig: { url: 'http://localhost:9/hook' } },
      },
    },
    V1,
  );
  assertError(inline, -32602, 5);
  assert.match(inline.error?.message ?? '', /not a public address/);
  assert.deepEqual(await app.storage.sql.select('SELECT * FROM a2a_push_configs'), []);
  const listed = await call(
    { jsonrpc: '2.0', id: 6, method: 'ListTaskPushNotificationConfigs', params: { taskId: v1Task } },
    V1,
  );
  assert.deepEqual((listed.result as { configs?: unknown[] }).configs ?? [], []);
});

test('push configs over raw JSON-RPC: secrets answered as *** and not stored in the clear; get, list, delete (v1.0 and v0.3)', async (t) => {
  const { app, call } = await a2aApp(t, { a2a: { push: { allow_hosts: ['127.0.0.1'], retry_base_s: 0.05 } } });
  const taskId = (
    (await call({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: v1Message() } }, V1)).result
      ?.task as { id: string }
  ).id;
  const token = `raw-token-${randomUUID()}`;
  const credentials = `raw-cred-${randomUUID()}`;
  const created = await call(
    {
      jsonrpc: '2.0',
      id: 2,
      method: 'CreateTaskPushNotificationConfig',
      params: { taskId, url: 'http://127.0.0.1:9/hook', token, authentication: { scheme: 'Bearer', credentials } },
    },
    V1,
  );
  const config = created.result as { id: string; taskId: string; url: string };
  assert.ok(config?.id, JSON.stringify(created));
  assert.equal(config.taskId, taskId);
  assert.ok(!JSON.stringify(created).includes(token) && !JSON.stringify(created).includes(credentials));
  const got = (
    await call(
      { jsonrpc: '2.0', id: 3, method: 'GetTaskPushNotificationConfig', params: { taskId, id: config.id } },
      V1,
    )
  ).result as { token: string; authentication: { scheme: string; credentials: string } };
  assert.equal(got.token, '***');
  assert.deepEqual(got.authentication, { scheme: 'Bearer', credentials: '***' });

  const v03 = await call({
    jsonrpc: '2.0',
    id: 4,
    method: 'tasks/pushNotificationConfig/set',
    params: { taskId, pushNotificationConfig: { id: 'old', url: 'http://127.0.0.1:9/old', token } },
  });
  assert.equal((v03.result as { pushNotificationConfig: { id: string } }).pushNotificationConfig.id, 'old');
  assert.ok(!JSON.stringify(v03).includes(token));
  const list03 = (
    await call({ jsonrpc: '2.0', id: 5, method: 'tasks/pushNotificationConfig/list', params: { id: taskId } })
  ).result as unknown as { pushNotificationConfig: { id: string; token?: string } }[];
  assert.deepEqual(list03.map((entry) => entry.pushNotificationConfig.id).sort(), [config.id, 'old'].sort());
  assert.ok(list03.every((entry) => entry.pushNotificationConfig.token === '***'));
  const stored = JSON.stringify(await app.storage.sql.select('SELECT * FROM a2a_push_configs'));
  assert.ok(!stored.includes(token) && !stored.includes(credentials), 'secrets are not stored in the clear');

  const deleted = await call({
    jsonrpc: '2.0',
    id: 6,
    method: 'tasks/pushNotificationConfig/delete',
    params: { id: taskId, pushNotificationConfigId: 'old' },
  });
  assert.equal(deleted.result, null);
  const deleted1 = await call(
    { jsonrpc: '2.0', id: 7, method: 'DeleteTaskPushNotificationConfig', params: { taskId, id: config.id } },
    V1,
  );
  assert.equal(deleted1.result, null);
  const listed = await call(
    { jsonrpc: '2.0', id: 8, method: 'ListTaskPushNotificationConfigs', params: { taskId } },
    V1,
  );
  assert.deepEqual((listed.result as { configs?: unknown[] }).configs ?? [], []);
  assertError(
    await call(
      {
        jsonrpc: '2.0',
        id: 9,
        method: 'GetTaskPushNotificationConfig',
        params: { taskId: 'nonexistent-task-id', id: 'x' },
      },
      V1,
    ),
    -32001,
    9,
  );
});
