import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { GREETER_TEXT, grpcApp, PROTO_DIR, runGrpc, startGreeter } from './grpc-setup.ts';

/** A temp folder holding a copy of the Greeter schema, outside the allowed folder. */
function outsideDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-grpc-outside-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'greeter.proto'), GREETER_TEXT);
  return dir;
}

const call = (server: string, source: Record<string, unknown>) => ({
  server,
  service: 'demo.Greeter',
  method: 'SayHello',
  request: { name: 'file' },
  ...source,
});

describe('grpc_executor proto_file and imports: read only inside grpc.proto_dirs', () => {
  test('a proto_file under an allowed folder loads, its imports resolved there (relative or absolute path)', async (t) => {
    const { server } = await startGreeter(t);
    const app = await grpcApp(t, { grpc: { proto_dirs: [PROTO_DIR] } });
    for (const proto_file of ['demo/greeter.proto', join(PROTO_DIR, 'demo/greeter.proto')]) {
      const { row } = await runGrpc(app, call(server, { proto_file }));
      assert.equal(row.status, 'completed', String(row.error));
      assert.equal((row.result as { response: { message: string } }).response.message, 'hello file');
    }
    const imported = await runGrpc(app, call(server, { proto: 'syntax = "proto3";\nimport "demo/greeter.proto";' }));
    assert.equal(
      imported.row.status,
      'completed',
      `proto text may import from the folders: ${String(imported.row.error)}`,
    );
  });

  test('paths outside the folders are refused without being read: absolute, .., symbolic links', async (t) => {
    const { server, seen } = await startGreeter(t);
    const outside = outsideDir(t);
    const allowed = mkdtempSync(join(tmpdir(), 'apflow-grpc-allowed-'));
    t.after(() => rmSync(allowed, { recursive: true, force: true }));
    symlinkSync(join(outside, 'greeter.proto'), join(allowed, 'link.proto'));
    const app = await grpcApp(t, { grpc: { proto_dirs: [allowed] } });
    const refused = async (source: Record<string, unknown>) => {
      const { row } = await runGrpc(app, call(server, source));
      assert.equal(row.status, 'failed', JSON.stringify(source));
      return String(row.error);
    };
    const outsideMessage = (what: string) =>
      `grpc_executor: ${what} is outside config grpc.proto_dirs; only files inside those folders are read`;
    const absolute = join(outside, 'greeter.proto');
    assert.equal(await refused({ proto_file: absolute }), outsideMessage(`proto_file "${absolute}"`));
    const escape = `../${outside.split('/').at(-1)}/greeter.proto`;
    assert.equal(await refused({ proto_file: escape }), outsideMessage(`proto_file "${escape}"`));
    assert.equal(await refused({ proto_file: 'link.proto' }), outsideMessage('proto_file "link.proto"'));
    assert.equal(
      await refused({ proto: `syntax = "proto3"; import "${absolute}";` }),
      outsideMessage(`import "${absolute}"`),
    );
    assert.equal(
      await refused({ proto_file: 'missing.proto' }),
      'grpc_executor: proto_file "missing.proto" is not found in config grpc.proto_dirs',
    );
    assert.equal(seen.calls.length, 0);
  });

  test('without grpc.proto_dirs (the default) no file is read: proto_file and imports are refused', async (t) => {
    const { server } = await startGreeter(t);
    const app = await grpcApp(t);
    const fromFile = await runGrpc(app, call(server, { proto_file: join(PROTO_DIR, 'demo/greeter.proto') }));
    assert.match(
      String(fromFile.row.error),
      /^grpc_executor: proto_file ".*greeter\.proto" would be read from the server's disk, which only config grpc\.proto_dirs allows \(none configured\); pass the \.proto text as the input proto instead$/,
    );
    const importing = await runGrpc(app, call(server, { proto: 'syntax = "proto3"; import "demo/types.proto";' }));
    assert.match(
      String(importing.row.error),
      /^grpc_executor: import "demo\/types\.proto" would be read from the server's disk/,
    );
    // google/protobuf imports come bundled: no file is read for them.
    const wellKnown = await runGrpc(
      app,
      call(server, {
        proto: `syntax = "proto3"; package demo; import "google/protobuf/empty.proto";
          message HelloRequest { string name = 1; } message HelloReply { string message = 1; }
          service Greeter { rpc SayHello (HelloRequest) returns (HelloReply); rpc Ping (google.protobuf.Empty) returns (google.protobuf.Empty); }`,
      }),
    );
    assert.equal(wellKnown.row.status, 'completed', String(wellKnown.row.error));
  });

  test('a relative grpc.proto_dirs entry stops the start with a clear message', async (t) => {
    await assert.rejects(
      grpcApp(t, { grpc: { proto_dirs: ['protos'] } }),
      /grpc\.proto_dirs must hold absolute paths; "protos" is relative/,
    );
  });
});
