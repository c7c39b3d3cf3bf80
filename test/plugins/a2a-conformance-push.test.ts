import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { eventually, memoryLog } from '../helpers.ts';
import { V1, type Json, a2aApp, v03Message, v1Message } from './a2a-conformance-setup.ts';

/**
 * What the A2A conformance kit (0.3.0, optional capabilities) and the specification ask beyond
 * the main flows: errors of streaming methods come as an event of a `text/event-stream` answer;
 * push configs for names that do not resolve here are stored (the policy judges each delivery);
 * the agent card mentions the MCP endpoint exactly when the server has one.
 */

test('a push config for a host that does not resolve here is stored and read back; literal private addresses are still refused', async (t) => {
  const { call } = await a2aApp(t, { a2a: { push: { deny_hosts: ['blocked.invalid'] } } });
  // The kit's flow (v0.3): set without an id, get it as "default", find it in the list.
  const kitTask = (
    (await call({ jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: v03Message() } })).result as {
      id: string;
    }
  ).id;
  const set = await call({
    jsonrpc: '2.0',
    id: 2,
    method: 'tasks/pushNotificationConfig/set',
    params: { taskId: kitTask, pushNotificationConfig: { url: 'https://example.com/webhook' } },
  });
  assert.equal(set.error, undefined, JSON.stringify(set));
  assert.equal((set.result?.pushNotificationConfig as Json).url, 'https://example.com/webhook');
  const got = await call({
    jsonrpc: '2.0',
    id: 3,
    method: 'tasks/pushNotificationConfig/get',
    params: { id: kitTask, pushNotificationConfigId: 'default' },
  });
  assert.equal((got.result?.pushNotificationConfig as Json).url, 'https://example.com/webhook');
  const listed = (
    await call({ jsonrpc: '2.0', id: 4, method: 'tasks/pushNotificationConfig/list', params: { id: kitTask } })
  ).result as unknown as { pushNotificationConfig: Json }[];
  assert.deepEqual(
    listed.map((entry) => entry.pushNotificationConfig.url),
    ['https://example.com/webhook'],
  );

  // v1.0, with a token: stored, read back, the token hidden.
  const task = (
    (await call({ jsonrpc: '2.0', id: 5, method: 'SendMessage', params: { message: v1Message() } }, V1)).result
      ?.task as { id: string }
  ).id;
  const created = await call(
    {
      jsonrpc: '2.0',
      id: 6,
      method: 'CreateTaskPushNotificationConfig',
      params: { taskId: task, id: 'p', url: 'https://push.invalid/webhook', token: 'tok-secret' },
    },
    V1,
  );
  assert.equal(created.error, undefined, JSON.stringify(created));
  const read = (
    await call(
      { jsonrpc: '2.0', id: 7, method: 'GetTaskPushNotificationConfig', params: { taskId: task, id: 'p' } },
      V1,
    )
  ).result;
  assert.deepEqual([read?.url, read?.token], ['https://push.invalid/webhook', '***']);

  // Refused when set, without DNS: literal addresses the policy refuses (the same answer as before),
  // loopback names, other schemes, credentials in the URL, deny_hosts.
  const refused = async (url: string) => {
    const answer = await call(
      {
        jsonrpc: '2.0',
        id: 8,
        method: 'CreateTaskPushNotificationConfig',
        params: { taskId: task, url, token: 'tok-refused' },
      },
      V1,
    );
    assert.equal(answer.error?.code, -32602, `${url}: ${JSON.stringify(answer)}`);
    assert.doesNotMatch(JSON.stringify(answer), /tok-refused/);
    return answer.error?.message ?? '';
  };
  const hint = '(allow it with outbound.allow_hosts or outbound.allow_private)';
  assert.equal(
    await refused('http://10.0.0.1/x'),
    `Push notification URL http://10.0.0.1/x is refused: 10.0.0.1 is not a public address ${hint}`,
  );
  assert.equal(
    await refused('http://127.0.0.1/x'),
    `Push notification URL http://127.0.0.1/x is refused: 127.0.0.1 is not a public address ${hint}`,
  );
  assert.match(await refused('http://[::1]:8080/x'), /is refused: ::1 is not a public address/);
  assert.match(await refused('http://2130706433/x'), /is refused: 127\.0\.0\.1 is not a public address/);
  assert.match(
    await refused('http://localhost:9/hook'),
    /is refused: localhost resolves to 127\.0\.0\.1, which is not a public address/,
  );
  assert.match(
    await refused('https://api.localhost/x'),
    /api\.localhost resolves to 127\.0\.0\.1, which is not a public address/,
  );
  assert.match(await refused('ftp://push.invalid/x'), /must use http or https/);
  assert.match(await refused('https://user:pw@push.invalid/x'), /must not carry credentials/);
  assert.match(await refused('https://blocked.invalid/x'), /blocked\.invalid is on outbound\.deny_hosts/);
  assert.match(await refused('not a url'), /is not a valid URL/);
  const configs = (
    await call({ jsonrpc: '2.0', id: 9, method: 'ListTaskPushNotificationConfigs', params: { taskId: task } }, V1)
  ).result?.configs as Json[];
  assert.deepEqual(
    configs.map((config) => config.url),
    ['https://push.invalid/webhook'],
    'nothing refused was stored',
  );
});

test('a delivery to a name that does not resolve is logged (without secrets) once per update and never retried; the task is fine', async (t) => {
  const log = memoryLog();
  const { app, call } = await a2aApp(t, { a2a: { push: { retry_base_s: 0.05 } } }, log);
  const task = (
    (await call({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: v1Message() } }, V1)).result
      ?.task as { id: string }
  ).id;
  const token = `tok-${randomUUID()}`;
  const credentials = `cred-${randomUUID()}`;
  const created = await call(
    {
      jsonrpc: '2.0',
      id: 2,
      method: 'CreateTaskPushNotificationConfig',
      params: {
        taskId: task,
        id: 'nowhere',
        url: 'https://push.invalid/webhook?k=query-secret',
        token,
        authentication: { scheme: 'Bearer', credentials },
      },
    },
    V1,
  );
  assert.equal(created.error, undefined, JSON.stringify(created));
  const tree = [
    { name: 'root', schemas: { method: 'echo' }, inputs: { pushed: true } },
    { name: 'kid', parent_id: 'root', schemas: { method: 'noop' } },
  ];
  const ran = await call(
    {
      jsonrpc: '2.0',
      id: 3,
      method: 'SendMessage',
      params: { message: v1Message([{ data: { tasks: tree } }], { taskId: task }) },
    },
    V1,
  );
  const done = ran.result?.task as { status: { state: string }; metadata: { root_task_id: string } };
  assert.equal(done.status.state, 'TASK_STATE_COMPLETED');
  const rootId = done.metadata.root_task_id;

  // Every update was handled (the cursor reached the tree's last event): nothing is left to resume.
  await eventually(async () => {
    const [row] = await app.storage.sql.select<{ delivered_seq: number | string }>(
      'SELECT delivered_seq FROM a2a_push_configs WHERE task_id = ?',
      [task],
    );
    const root = await app.tasks.get(rootId);
    return root !== undefined && root !== null && Number(row?.delivered_seq) === root.event_seq;
  });
  const events = await app.tasks.events(rootId);
  const updates = events.filter((event) => event.type !== 'final').length + 2; // + the result artifact and the final status
  const notSent = log.lines.filter((line) => line.msg === 'A2A push notification not sent (not retried)');
  assert.equal(notSent.length, updates, 'one line per update: none retried');
  for (const line of notSent) {
    assert.equal(line.a2a_task_id, task);
    assert.equal(line.push_config_id, 'nowhere');
    assert.equal(line.target, 'https://push.invalid');
    assert.match(String(line.reason), /does not resolve/);
  }
  assert.ok(!log.lines.some((line) => /retrying/.test(String(line.msg))), 'no delivery attempt was retried');
  for (const secret of [token, credentials, 'query-secret'])
    assert.ok(!log.text().includes(secret), `the log does not hold ${secret}`);

  const after = (await call({ jsonrpc: '2.0', id: 4, method: 'GetTask', params: { id: task } }, V1)).result as {
    status: { state: string };
  };
  assert.equal(after.status.state, 'TASK_STATE_COMPLETED');
});
