/** Servers for the grpc_executor limit tests: a service with big replies, a hostile reflection service, a silent TCP server. */
import { createServer, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const WIDE_FIELDS = Array.from({ length: 100 }, (_, i) => `  int32 f${i + 1} = ${i + 1};`).join('\n');

/** The test service: `Big` answers `size` bytes, `Many` streams `count` messages of `size` bytes, `Empties` `count` empty Wides. */
export const LIMITS_PROTO = `syntax = "proto3";
package lim;
service Lim {
  rpc Echo (Req) returns (Reply);
  rpc Big (Req) returns (Reply);
  rpc Many (Req) returns (stream Reply);
  rpc Empties (Req) returns (Reply);
}
message Inner { uint32 n = 1; }
message Req { string user_id = 1; int32 count = 2; int64 big = 3; int32 size = 4; Inner inner = 5; map<string, int32> tally = 6; }
message Wide {
${WIDE_FIELDS}
}
message Reply { bytes blob = 1; repeated Wide wide = 2; string echo = 3; }
`;

interface Req {
  user_id: string;
  count: number;
  big: string;
  size: number;
}

/** Starts lim.Lim on 127.0.0.1; `requests` lists every request the server received. */
export async function startLimits(t: TestContext) {
  const root = protobuf.parse(LIMITS_PROTO, { keepCase: true }).root;
  const definition = protoLoader.fromJSON(root.toJSON(), { keepCase: true, longs: String, defaults: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    lim: { Lim: { service: grpc.ServiceDefinition } };
  };
  const requests: Req[] = [];
  const server = new grpc.Server();
  server.addService(loaded.lim.Lim.service, {
    Echo(call: grpc.ServerUnaryCall<Req, unknown>, callback: grpc.sendUnaryData<unknown>) {
      requests.push(call.request);
      callback(null, { echo: JSON.stringify(call.request) });
    },
    Big(call: grpc.ServerUnaryCall<Req, unknown>, callback: grpc.sendUnaryData<unknown>) {
      requests.push(call.request);
      callback(null, { blob: Buffer.alloc(call.request.size, 7) });
    },
    Many(call: grpc.ServerWritableStream<Req, unknown>) {
      requests.push(call.request);
      for (let i = 0; i < call.request.count; i++) call.write({ blob: Buffer.alloc(call.request.size, 7) });
      call.end();
    },
    Empties(call: grpc.ServerUnaryCall<Req, unknown>, callback: grpc.sendUnaryData<unknown>) {
      requests.push(call.request);
      callback(null, { wide: Array.from({ length: call.request.count }, () => ({})) });
    },
  });
  return { server: `127.0.0.1:${await bind(t, server)}`, requests };
}

const REFLECTION_PROTO = `syntax = "proto3";
package grpc.reflection.v1;
service ServerReflection { rpc ServerReflectionInfo (stream Request) returns (stream Response); }
message Request { string host = 1; string file_by_filename = 3; string file_containing_symbol = 4; }
message Response { string valid_host = 1; Files file_descriptor_response = 4; }
message Files { repeated bytes file_descriptor_proto = 1; }
`;

/** A FileDescriptorProto with only a name and imports (fields 1 and 3). */
export function fileDescriptor(name: string, dependencies: string[]): Uint8Array {
  const writer = protobuf.Writer.create().uint32(10).string(name);
  for (const dependency of dependencies) writer.uint32(26).string(dependency);
  return writer.finish();
}

/**
 * A reflection service (v1) answering every request with `answer(request number)`: the
 * descriptors it sends. `asked` counts the requests it received.
 */
export async function startHostileReflection(t: TestContext, answer: (index: number) => Uint8Array[]) {
  const root = protobuf.parse(REFLECTION_PROTO, { keepCase: true }).root;
  const Request = root.lookupType('grpc.reflection.v1.Request');
  const Response = root.lookupType('grpc.reflection.v1.Response');
  const state = { asked: 0 };
  const server = new grpc.Server();
  server.register(
    '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
    (call: grpc.ServerDuplexStream<unknown, Uint8Array[]>) => {
      call.on('data', () => call.write(answer(state.asked++)));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
    (files: Uint8Array[]) =>
      Buffer.from(Response.encode({ file_descriptor_response: { file_descriptor_proto: files } }).finish()),
    (bytes: Buffer) => Request.decode(bytes),
    'bidi',
  );
  return { server: `127.0.0.1:${await bind(t, server)}`, state };
}

/** A TCP server that accepts connections and never answers; `open` counts the sockets not yet closed. */
export async function startSilent(t: TestContext) {
  const sockets = new Set<Socket>();
  const state = { accepted: 0, open: 0 };
  const server = createServer((socket) => {
    sockets.add(socket);
    state.accepted += 1;
    state.open += 1;
    // Reads (and drops) what arrives, so that the end of the connection is seen; never answers.
    socket.resume();
    socket.on('error', () => undefined);
    socket.on('close', () => (state.open -= 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { server: `127.0.0.1:${address.port}`, state };
}

async function bind(t: TestContext, server: grpc.Server): Promise<number> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  t.after(() => server.forceShutdown());
  return port;
}
