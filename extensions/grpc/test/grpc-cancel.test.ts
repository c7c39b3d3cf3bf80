import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventually, started } from '../../../test/helpers.ts';
import { GREETER_TEXT, grpcApp, runGrpc, startGreeter } from './grpc-setup.ts';

const sleep = (server: string, ms: number, extra: Record<string, unknown> = {}) => ({
  server,
  service: 'demo.Greeter',
  method: 'Sleep',
  request: { ms },
  proto: GREETER_TEXT,
  ...extra,
});

describe('grpc_executor deadline, cancel and task timeout', () => {
  test('the timeout input is the call deadline: DEADLINE_EXCEEDED, and the server sees the call cancelled', async (t) => {
    const { server, seen } = await startGreeter(t);
    const app = await grpcApp(t);
    const { row } = await runGrpc(app, sleep(server, 60_000, { timeout: 0.3 }));
    assert.equal(row.status, 'failed');
    assert.match(String(row.error), /^grpc_executor: demo\.Greeter\/Sleep failed: DEADLINE_EXCEEDED \(4\)/);
    await eventually(() => seen.cancelled.includes('Sleep'));
  });

  test('cancelling the task through the API cancels the call on the server', async (t) => {
    const { server, seen } = await startGreeter(t);
    const app = await grpcApp(t);
    const tree = await app.engine.createTree([
      { name: 'slow call', schemas: { method: 'grpc_executor' }, inputs: sleep(server, 60_000) },
    ]);
    const { done } = started(await app.engine.execute(tree.id));
    await eventually(() => seen.calls.some((call) => call.method === 'Sleep'));
    assert.deepEqual(seen.cancelled, [], 'the call is running');
    await app.engine.cancel([tree.id]);
    await done;
    assert.equal((await app.tasks.get(tree.id))?.status, 'cancelled');
    await eventually(() => seen.cancelled.includes('Sleep'));
  });

  test("the task's own timeout (params.timeout_s) cancels the call on the server", async (t) => {
    const { server, seen } = await startGreeter(t);
    const app = await grpcApp(t);
    const { row } = await runGrpc(app, sleep(server, 60_000), { params: { timeout_s: 0.3 } });
    assert.equal(row.status, 'failed');
    assert.match(String(row.error), /Timeout/);
    await eventually(() => seen.cancelled.includes('Sleep'));
  });
});
