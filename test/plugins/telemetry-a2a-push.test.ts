/**
 * A2A push notifications of a traced run carry the `traceparent` of the run's span, so the
 * receiver continues the trace the tree's run is in.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, httpReceiver } from '../helpers.ts';
import { a2aApp, asTask, clientOf, request, treeRequest } from './a2a-setup.ts';
import { otlpReceiver } from './otlp-receiver.ts';

test('A2A push notifications carry the traceparent of the run they report', async (t) => {
  const receiver = await otlpReceiver(t);
  const { app, url } = await a2aApp(t, {
    a2a: { push: { allow_hosts: ['127.0.0.1'], retry_base_s: 0.05 } },
    telemetry: { enabled: true, otlp: { endpoint: receiver.url, protocol: 'http/json' } },
  });
  const hook = await httpReceiver(t);
  const { client } = await clientOf('1.0', url);
  const waiting = asTask(await client.sendMessage(request({ text: 'tree follows' })));
  await client.createTaskPushNotificationConfig({
    tenant: '',
    id: 'hook',
    taskId: waiting.id,
    url: hook.url,
    token: 'push-token',
    authentication: undefined,
  });
  const ran = asTask(
    await client.sendMessage(treeRequest([{ name: 'root', schemas: { method: 'echo' } }], { taskId: waiting.id })),
  );
  await eventually(() => hook.hits.length >= 2);
  await app.service('telemetry')?.flush();
  const spans = await receiver.waitFor((received) =>
    received.some((span) => span.name === 'apflow.run') ? received : null,
  );
  const run = spans.find(
    (span) => span.name === 'apflow.run' && span.attributes['apflow.task.id'] === String(ran.metadata?.root_task_id),
  );
  assert.ok(run, 'the run was traced');
  for (const hit of hook.hits) {
    const sent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(hit.headers.traceparent));
    assert.deepEqual(sent && [sent[1], sent[2]], [run.traceId, run.spanId]);
  }
});
