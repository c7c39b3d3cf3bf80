/**
 * A minimal reflection server for the tests: `grpc.reflection.v1alpha` only (no v1), answering
 * exactly the one file asked for (no imports), so the client must fall back to v1alpha and ask
 * for each import by file name. Counts the requests it answered.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';

interface ReflectionRequest {
  file_by_filename?: string;
  file_containing_symbol?: string;
}

const field = (name: string, number: number, type: number, extra: Record<string, unknown> = {}) => ({
  name,
  number,
  label: 1, // optional
  type,
  ...extra,
});

/**
 * demo/greeter.proto (SayHello only) and the demo/types.proto it imports, as two descriptors
 * (proto-loader would merge a package into one file, hiding the import this test is about).
 */
const FILES = new Map(
  [
    {
      name: 'demo/types.proto',
      package: 'demo',
      syntax: 'proto3',
      messageType: [
        { name: 'HelloRequest', field: [field('name', 1, 9), field('tags', 2, 9, { label: 3 }), field('big', 3, 3)] },
        {
          name: 'HelloReply',
          field: [
            field('message', 1, 9),
            field('mood', 2, 14, { typeName: '.demo.Mood' }),
            field('big', 3, 3),
            field('raw', 4, 12),
          ],
        },
      ],
      enumType: [
        {
          name: 'Mood',
          value: [
            { name: 'MOOD_UNSPECIFIED', number: 0 },
            { name: 'HAPPY', number: 1 },
          ],
        },
      ],
    },
    {
      name: 'demo/greeter.proto',
      package: 'demo',
      syntax: 'proto3',
      dependency: ['demo/types.proto'],
      service: [
        {
          name: 'Greeter',
          method: [{ name: 'SayHello', inputType: '.demo.HelloRequest', outputType: '.demo.HelloReply' }],
        },
      ],
    },
  ].map((file) => [
    file.name,
    Buffer.from(descriptor.FileDescriptorProto.encode(descriptor.FileDescriptorProto.fromObject(file)).finish()),
  ]),
);

/** Adds the v1alpha reflection service of demo.Greeter to `server`; returns the list of what it was asked. */
export function addPerFileReflection(server: grpc.Server) {
  const asked: string[] = [];
  const root = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')), 'build/proto');
  const reflection = protoLoader.loadSync('grpc/reflection/v1alpha/reflection.proto', {
    includeDirs: [root],
    keepCase: true,
  });
  const loaded = grpc.loadPackageDefinition(reflection) as unknown as {
    grpc: { reflection: { v1alpha: { ServerReflection: { service: grpc.ServiceDefinition } } } };
  };
  server.addService(loaded.grpc.reflection.v1alpha.ServerReflection.service, {
    ServerReflectionInfo(call: grpc.ServerDuplexStream<ReflectionRequest, unknown>) {
      call.on('data', (request: ReflectionRequest) => {
        const symbol = request.file_containing_symbol;
        const name = symbol === 'demo.Greeter' ? 'demo/greeter.proto' : (request.file_by_filename ?? '');
        asked.push(symbol ?? name);
        const bytes = FILES.get(name);
        call.write(
          bytes
            ? { file_descriptor_response: { file_descriptor_proto: [bytes] } }
            : { error_response: { error_code: grpc.status.NOT_FOUND, error_message: `unknown: ${symbol ?? name}` } },
        );
      });
      call.on('end', () => call.end());
    },
  });
  return asked;
}
