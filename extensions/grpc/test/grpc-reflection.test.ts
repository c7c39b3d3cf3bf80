import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grpcApp, runGrpc, startGreeter } from './grpc-setup.ts';

describe('grpc_executor without a proto: server reflection', () => {
  test('a unary call and a server stream with the schema from reflection (imports fetched too)', async (t) => {
    const { server, seen } = await startGreeter(t, { reflection: true });
    const app = await grpcApp(t);
    const unary = await runGrpc(app, {
      server,
      service: 'demo.Greeter',
      method: 'SayHello',
      request: { name: 'Grace' },
      metadata: { authorization: 'Bearer r-1' },
    });
    assert.equal(unary.row.status, 'completed', String(unary.row.error));
    const result = unary.row.result as { response: Record<string, unknown>; metadata: Record<string, string> };
    // HelloReply is defined in demo/types.proto, which greeter.proto imports: reflection fetched both.
    assert.deepEqual(result.response, { message: 'hello Grace', mood: 'HAPPY', big: '9007199254740993', raw: 'aGk=' });
    assert.equal(result.metadata['x-seen-auth'], 'yes');
    assert.equal(seen.calls.length, 1, 'reflection calls are not Greeter calls');

    const stream = await runGrpc(app, { server, service: 'demo.Greeter', method: 'Count', request: { count: 2 } });
    assert.equal(stream.row.status, 'completed', String(stream.row.error));
    assert.deepEqual(
      (stream.row.result as { response: { message: string }[] }).response.map((message) => message.message),
      ['#1', '#2'],
    );
  });

  test('v1alpha only, one file per answer: the client falls back to v1alpha and asks for each import', async (t) => {
    const { server, reflectionAsked } = await startGreeter(t, { reflection: 'v1alpha-per-file' });
    const app = await grpcApp(t);
    const { row } = await runGrpc(app, {
      server,
      service: 'demo.Greeter',
      method: 'SayHello',
      request: { name: 'v1a' },
    });
    assert.equal(row.status, 'completed', String(row.error));
    assert.equal((row.result as { response: { message: string } }).response.message, 'hello v1a');
    assert.deepEqual(reflectionAsked, ['demo.Greeter', 'demo/types.proto']);
  });

  test('a service the server does not know is APF_NOT_FOUND, named', async (t) => {
    const { server } = await startGreeter(t, { reflection: true });
    const app = await grpcApp(t);
    const { row } = await runGrpc(app, { server, service: 'demo.Missing', method: 'Hi' });
    assert.equal(row.status, 'failed');
    assert.match(String(row.error), /^grpc_executor: reflection of demo\.Missing failed: NOT_FOUND \(5\)/);
  });

  test('a server without reflection: the task says to pass the proto', async (t) => {
    const { server, seen } = await startGreeter(t);
    const app = await grpcApp(t);
    const { row } = await runGrpc(app, { server, service: 'demo.Greeter', method: 'SayHello' });
    assert.equal(row.status, 'failed');
    assert.equal(
      row.error,
      `grpc_executor: ${server} does not offer server reflection (grpc.reflection v1 or v1alpha); pass the .proto text as proto, or a proto_file`,
    );
    assert.equal(seen.calls.length, 0);
  });
});
