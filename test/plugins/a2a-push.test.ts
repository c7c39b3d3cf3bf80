import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { TaskState } from '@a2a-js/sdk';
import { eventually, httpReceiver } from '../helpers.ts';
import { KINDS, WIRE_NAMES, a2aApp, clientOf, request, treeRequest, asTask } from './a2a-setup.ts';

for (const kind of KINDS) {
  const names = WIRE_NAMES[kind];

  test(`${kind}: push notifications: every update of the tree reaches the receiver in order (after a 500), with the token and credentials; secrets stay hidden`, async (t) => {
    const { app, url } = await a2aApp(t, { a2a: { push: { allow_hosts: ['127.0.0.1'], retry_base_s: 0.05 } } });
    const hook = await httpReceiver(t, (_body, n) => (n === 0 ? 500 : 200));
    const { client, wire } = await clientOf(kind, url);
    const waiting = asTask(await client.sendMessage(request({ text: 'tree follows' })));
    const token = `tok-${randomUUID()}`;
    const credentials = `cred-${randomUUID()}`;
    const created = await client.createTaskPushNotificationConfig({
      tenant: '',
      id: 'hook-1',
      taskId: waiting.id,
      url: hook.url,
      token,
      authentication: { scheme: 'Bearer', credentials },
    });
    assert.equal(created.url, hook.url);
    assert.equal(created.taskId, waiting.id);
    assert.equal(created.id, 'hook-1');
    assert.notEqual(created.token, token, 'the token is not echoed back');
    assert.ok(!JSON.stringify(created).includes(token) && !JSON.stringify(created).includes(credentials));
    const got = await client.getTaskPushNotificationConfig({ tenant: '', taskId: waiting.id, id: 'hook-1' });
    assert.equal(got.url, hook.url);
    assert.equal(got.token, '***');
    assert.equal(got.authentication?.credentials, '***');
    const listed = await client.listTaskPushNotificationConfig({
      tenant: '',
      taskId: waiting.id,
      pageSize: 0,
      pageToken: '',
    });
    assert.deepEqual(
      listed.configs.map((config) => [config.id, config.url, config.token]),
      [['hook-1', hook.url, '***']],
    );
    const rows = await app.storage.sql.select('SELECT * FROM a2a_push_configs');
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes(token), 'the token is not stored in the clear');
    assert.ok(!JSON.stringify(rows).includes(credentials), 'the credentials are not stored in the clear');

    const ran = asTask(
      await client.sendMessage(
        treeRequest(
          [
            { name: 'root', schemas: { method: 'echo' }, inputs: { pushed: kind } },
            { name: 'nap', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 20 } },
          ],
          { taskId: waiting.id },
        ),
      ),
    );
    assert.equal(ran.status?.state, TaskState.TASK_STATE_COMPLETED);
    const rootId = String(ran.metadata?.root_task_id);
    const isFinal = (body: Record<string, unknown>) =>
      kind === '1.0'
        ? (body.statusUpdate as { status?: { state?: string } } | undefined)?.status?.state === 'TASK_STATE_COMPLETED'
        : body.final === true;
    const delivered = await eventually(() => hook.delivered().some(isFinal) && hook.delivered());
    assert.equal(hook.hits[0]?.status, 500);
    assert.deepEqual(hook.hits[1]?.body, hook.hits[0]?.body, 'the refused update is sent again');
    const log = await app.tasks.events(rootId);
    const working = log.filter((event) => event.type !== 'final').map((event) => event.seq);

    for (const hit of hook.hits) {
      assert.equal(hit.method, 'POST');
      assert.equal(hit.headers.authorization, `Bearer ${credentials}`);
      assert.equal(hit.headers['x-a2a-notification-token'], token);
    }
    if (kind === '1.0') {
      for (const hit of hook.hits) assert.match(String(hit.headers['content-type']), /^application\/a2a\+json/);
      const kinds = delivered.map((body) => Object.keys(body).join(','));
      assert.deepEqual(kinds, [...working.map(() => 'statusUpdate'), 'artifactUpdate', 'statusUpdate']);
      const updates = delivered.slice(0, -2).map(
        (body) =>
          body.statusUpdate as {
            taskId: string;
            status: { state: string; message: { parts: { data: { seq: number } }[] } };
          },
      );
      assert.deepEqual(
        updates.map((update) => update.status.message.parts[0]?.data.seq),
        working,
      );
      assert.ok(
        updates.every((update) => update.taskId === waiting.id && update.status.state === 'TASK_STATE_WORKING'),
      );
      const artifact = delivered.at(-2)?.artifactUpdate as { artifact: { parts: { data: unknown }[] } };
      assert.deepEqual(artifact.artifact.parts[0]?.data, {
        root_task_id: rootId,
        status: 'completed',
        result: { pushed: '1.0' },
      });
    } else {
      const kinds = delivered.map((body) => body.kind);
      assert.deepEqual(kinds, [...working.map(() => 'status-update'), 'artifact-update', 'status-update']);
      const updates = delivered.filter((body) => body.kind === 'status-update') as {
        taskId: string;
        final: boolean;
        status: { state: string; message: { parts: { kind: string; data: { seq: number } }[] } };
      }[];
      assert.deepEqual(
        updates.slice(0, -1).map((update) => update.status.message.parts[0]?.data.seq),
        working,
      );
      assert.deepEqual(
        updates.map((update) => update.final),
        [...working.map(() => false), true],
      );
      assert.deepEqual(
        updates.map((update) => update.status.state),
        [...working.map(() => 'working'), 'completed'],
      );
      assert.ok(updates.every((update) => update.taskId === waiting.id));
      const artifact = delivered.at(-2) as { artifact: { parts: { kind: string; data: unknown }[] } };
      assert.deepEqual(artifact.artifact.parts[0], {
        kind: 'data',
        data: { root_task_id: rootId, status: 'completed', result: { pushed: '0.3' } },
      });
    }

    await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: waiting.id, id: 'hook-1' });
    const after = await client.listTaskPushNotificationConfig({
      tenant: '',
      taskId: waiting.id,
      pageSize: 0,
      pageToken: '',
    });
    assert.deepEqual(after.configs, []);
    assert.deepEqual(await app.storage.sql.select('SELECT * FROM a2a_push_configs'), []);
    assert.ok(wire.some((call) => call.method === names.pushSet && call.version === kind));
  });
}
