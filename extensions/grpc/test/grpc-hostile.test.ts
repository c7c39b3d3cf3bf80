import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import protobufDescriptor from 'protobufjs/ext/descriptor/index.js';
import { eventually } from '../../../test/helpers.ts';
import { grpcApp, runGrpc } from './grpc-setup.ts';
import { fileDescriptor, startHostileReflection, startSilent } from './limits-setup.ts';

const reflected = (server: string) => ({ server, service: 'evil.Svc', method: 'Go', timeout: 20 });

describe('grpc_executor against hostile reflection servers', () => {
  test('answers naming ever-new imports, not the file asked for: the lookup stops within its limits', async (t) => {
    // Always "same.proto", each time importing a name never seen before.
    const { server, state } = await startHostileReflection(t, (index) => [
      fileDescriptor('same.proto', [`dep-${index}.proto`]),
    ]);
    const app = await grpcApp(t);
    const { row } = await runGrpc(app, reflected(server));
    assert.equal(row.status, 'failed');
    assert.equal(
      row.error,
      `grpc_executor: ${server} answered the reflection request for file dep-0.proto without that file`,
    );
    assert.equal(state.asked, 2);
  });

  test('answers naming the file asked for, each importing two new ones: refused at 200 files', async (t) => {
    let next = 0;
    const names: string[] = ['evil.proto'];
    const { server, state } = await startHostileReflection(t, (index) => {
      const name = names[index] ?? 'none';
      const dependencies = [`d${++next}.proto`, `d${++next}.proto`];
      names.push(...dependencies);
      return [fileDescriptor(name, dependencies)];
    });
    const app = await grpcApp(t);
    const { row } = await runGrpc(app, reflected(server));
    assert.equal(row.status, 'failed');
    assert.equal(
      row.error,
      `grpc_executor: the schema of evil.Svc by reflection from ${server} passes 200 files; pass the .proto text as proto instead`,
    );
    assert.ok(state.asked <= 200, `${state.asked} requests`);
  });

  test('malformed descriptors and descriptors with too many fields are refused, naming the server', async (t) => {
    const malformed = await startHostileReflection(t, () => [Uint8Array.from([10, 200])]);
    const app = await grpcApp(t);
    const bad = await runGrpc(app, reflected(malformed.server));
    assert.match(
      String(bad.row.error),
      new RegExp(`^grpc_executor: ${malformed.server} sent a malformed file descriptor by reflection: `),
    );
    const field = Array.from({ length: 1500 }, (_, i) => ({ name: `f${i}`, number: i + 1, type: 5, label: 1 }));
    const huge = protobufDescriptor.FileDescriptorProto.encode({
      name: 'huge.proto',
      package: 'evil',
      messageType: [{ name: 'M', field }],
      service: [{ name: 'Svc', method: [{ name: 'Go', inputType: '.evil.M', outputType: '.evil.M' }] }],
    }).finish();
    const wide = await startHostileReflection(t, () => [huge]);
    const { row } = await runGrpc(app, reflected(wide.server));
    assert.equal(
      row.error,
      `grpc_executor: the schema ${wide.server} sent by reflection declares too much: at most 1000 fields or declarations in one message, enum or service, and 20000 in all`,
    );
  });
});

describe('grpc_executor against a server that accepts TCP and stays silent', () => {
  test('after the deadline, the connection the task opened is closed', async (t) => {
    const { server, state } = await startSilent(t);
    const app = await grpcApp(t);
    const { row } = await runGrpc(app, {
      server,
      service: 'demo.Greeter',
      method: 'SayHello',
      proto: 'syntax = "proto3"; package demo; service Greeter { rpc SayHello (M) returns (M); } message M {}',
      timeout: 1,
    });
    assert.equal(row.status, 'failed');
    assert.match(String(row.error), /DEADLINE_EXCEEDED|UNAVAILABLE/);
    assert.ok(state.accepted >= 1, 'the task connected');
    await eventually(() => state.open === 0, 3000);
  });
});
