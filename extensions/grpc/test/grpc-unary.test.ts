import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testApp } from '../../../test/helpers.ts';
import { GREETER_TEXT, grpcApp, runGrpc, startGreeter } from './grpc-setup.ts';

interface GrpcResult {
  response: unknown;
  metadata: Record<string, string | string[]>;
  trailers: Record<string, string | string[]>;
  status: { code: number; name: string; details: string };
  message_count?: number;
  truncated?: boolean;
}

describe('grpc_executor unary and server-streaming calls', () => {
  test('a unary call from .proto text: response as JSON, metadata sent and received, trailers, status OK', async (t) => {
    const { server, seen } = await startGreeter(t);
    const app = await grpcApp(t);
    const { row } = await runGrpc(app, {
      server,
      service: 'demo.Greeter',
      method: 'SayHello',
      request: { name: 'Ada', tags: ['a'] },
      proto: GREETER_TEXT,
      metadata: { authorization: 'Bearer t-1', 'x-request-id': ['r1', 'r2'], 'x-blob-bin': 'AQI=' },
    });
    assert.equal(row.status, 'completed', String(row.error));
    const result = row.result as GrpcResult;
    assert.deepEqual(result.response, { message: 'hello Ada', mood: 'HAPPY', big: '9007199254740993', raw: 'aGk=' });
    assert.equal(result.metadata['x-served-by'], 'greeter');
    assert.equal(result.metadata['x-seen-auth'], 'yes');
    assert.equal(result.trailers['x-trailer'], 'done');
    assert.equal(result.trailers['x-trailer-bin'], Buffer.from([1, 2, 3]).toString('base64'));
    assert.deepEqual(result.status, { code: 0, name: 'OK', details: 'OK' });

    assert.equal(seen.calls.length, 1);
    const [call] = seen.calls;
    assert.deepEqual(call?.request.tags, ['a']);
    assert.deepEqual(call?.metadata.get('authorization'), ['Bearer t-1']);
    // A repeated key arrives as one header whose values are joined (HTTP/2 field semantics).
    assert.equal(call?.metadata.get('x-request-id').join(', '), 'r1, r2');
    assert.deepEqual(call?.metadata.get('x-blob-bin'), [Buffer.from([1, 2])]);
    assert.deepEqual(call?.metadata.get(':authority'), [], 'pseudo-headers are not metadata');
  });

  test('an error status fails the task with its name and details; NOT_FOUND is not retried, UNAVAILABLE is', async (t) => {
    const { server, seen } = await startGreeter(t);
    const app = await grpcApp(t);
    const base = { server, service: 'demo.Greeter', method: 'Fail', proto: GREETER_TEXT };
    const params = { retries: 2, retry_delay_s: 0 };
    const notFound = await runGrpc(app, { ...base, request: { code: 5, details: 'no greeting for Bob' } }, { params });
    assert.equal(notFound.row.status, 'failed');
    assert.equal(notFound.row.error, 'grpc_executor: demo.Greeter/Fail failed: NOT_FOUND (5): no greeting for Bob');
    assert.equal(seen.calls.length, 1, 'NOT_FOUND is not retried');

    const denied = await runGrpc(app, { ...base, request: { code: 7, details: 'nope' } }, { params });
    assert.equal(denied.row.error, 'grpc_executor: demo.Greeter/Fail failed: PERMISSION_DENIED (7): nope');
    assert.equal(seen.calls.length, 2, 'PERMISSION_DENIED is not retried');

    const unavailable = await runGrpc(app, { ...base, request: { code: 14, details: 'try later' } }, { params });
    assert.equal(unavailable.row.error, 'grpc_executor: demo.Greeter/Fail failed: UNAVAILABLE (14): try later');
    assert.equal(seen.calls.length, 5, 'UNAVAILABLE is retried (1 + 2 retries)');
  });

  test('a server-streaming call collects every message, with a progress event per message', async (t) => {
    const { server } = await startGreeter(t);
    const app = await grpcApp(t);
    const inputs = { server, service: 'demo.Greeter', method: 'Count', request: { count: 3 }, proto: GREETER_TEXT };
    const { row, events } = await runGrpc(app, inputs);
    assert.equal(row.status, 'completed', String(row.error));
    const result = row.result as GrpcResult;
    assert.deepEqual(
      (result.response as { message: string }[]).map((message) => message.message),
      ['#1', '#2', '#3'],
    );
    assert.equal(result.message_count, 3);
    assert.equal(result.truncated, false);
    const messages = events.filter((event) => event.type === 'progress').map((event) => event.message);
    for (const count of ['1 message', '2 messages', '3 messages'])
      assert.ok(
        messages.some((message) => message?.endsWith(`demo.Greeter/Count: ${count}`)),
        `${count}: ${messages.join(' | ')}`,
      );

    const cut = await runGrpc(app, { ...inputs, request: { count: 50 }, max_messages: 2 });
    const truncated = cut.row.result as GrpcResult;
    assert.equal(truncated.message_count, 2);
    assert.equal(truncated.truncated, true);
  });

  test('bad calls fail clearly: unknown service or method, a client stream, a request of the wrong type', async (t) => {
    const { server, seen } = await startGreeter(t);
    const app = await grpcApp(t);
    const base = { server, service: 'demo.Greeter', proto: GREETER_TEXT };
    const error = async (inputs: Record<string, unknown>) => String((await runGrpc(app, inputs)).row.error);
    assert.match(
      await error({ ...base, method: 'Nope' }),
      /^grpc_executor: demo\.Greeter has no method Nope \(methods: SayHello, Fail, Sleep, Count, Collect\)$/,
    );
    assert.match(
      await error({ ...base, service: 'demo.Other', method: 'SayHello' }),
      /^grpc_executor: the schema has no service demo\.Other \(services: demo\.Greeter\)$/,
    );
    assert.match(
      await error({ ...base, method: 'Collect' }),
      /takes a stream of requests; only unary and server-streaming/,
    );
    assert.match(
      await error({ ...base, method: 'SayHello', request: { tags: 'not a list' } }),
      /^grpc_executor: the request does not fit demo\.Greeter\/SayHello's request message/,
    );
    assert.match(
      await error({ ...base, method: 'SayHello', proto: 'syntax = "proto3"; message {' }),
      /the \.proto schema does not load/,
    );
    assert.match(await error({ ...base, server: 'no-port-here', method: 'SayHello' }), /server must be "host:port"/);
    assert.equal(seen.calls.length, 0, 'none of them reached the server');
  });

  test('the default outbound policy refuses a loopback server with a clear APF_FORBIDDEN message', async (t) => {
    const { port, seen } = await startGreeter(t);
    const app = await testApp(t, { plugins: ['@apflow/grpc'] });
    const { row } = await runGrpc(app, {
      server: `127.0.0.1:${port}`,
      service: 'demo.Greeter',
      method: 'SayHello',
      proto: GREETER_TEXT,
    });
    assert.equal(row.status, 'failed');
    assert.equal(
      row.error,
      `grpc_executor: 127.0.0.1:${port} is refused: 127.0.0.1 is not a public address (allow it with outbound.allow_hosts or outbound.allow_private)`,
    );
    assert.equal(seen.calls.length, 0);
  });

  test('demo mode answers the demo result without connecting; system.executors lists the executor', async (t) => {
    const app = await grpcApp(t);
    const { row } = await runGrpc(
      app,
      { server: '127.0.0.1:1', service: 'demo.Greeter', method: 'SayHello', request: { name: 'x' } },
      { demo: true },
    );
    assert.equal(row.status, 'completed', String(row.error));
    const result = row.result as GrpcResult & { demo: boolean };
    assert.equal(result.demo, true);
    assert.deepEqual(result.status, { code: 0, name: 'OK', details: '' });
    assert.match(JSON.stringify(result.response), /demo response of demo\.Greeter\/SayHello/);
    const listed = await app.inject({
      method: 'POST',
      url: '/system',
      payload: { jsonrpc: '2.0', id: 1, method: 'system.executors' },
    });
    const { executors } = (listed.json() as { result: { executors: { id: string; source: string }[] } }).result;
    assert.deepEqual(
      executors.find((entry) => entry.id === 'grpc_executor'),
      { ...executors.find((entry) => entry.id === 'grpc_executor'), source: 'plugin:grpc' },
    );
  });
});
