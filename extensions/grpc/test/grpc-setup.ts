/** Shared setup of the grpc_executor tests: a real gRPC server of demo.Greeter, an app with the plugin, a run. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type { App, TaskEvent } from 'apflow';
import { started, testApp } from '../../../test/helpers.ts';
import { addPerFileReflection } from './per-file-reflection.ts';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
/** The folder of the test protos (`demo/greeter.proto` imports `demo/types.proto`). */
export const PROTO_DIR = join(FIXTURES, 'protos');
/** The two test protos as one text, as a task passes it in `proto` (no import needed). */
export const GREETER_TEXT = [
  readFileSync(join(PROTO_DIR, 'demo/greeter.proto'), 'utf8').replace('import "demo/types.proto";', ''),
  readFileSync(join(PROTO_DIR, 'demo/types.proto'), 'utf8').replace(/^(syntax|package) .*$/gm, ''),
].join('\n');
/** TLS material: `ca.pem` signed `server.pem` (for DNS name `localhost`). */
export const tlsFile = (name: string) => readFileSync(join(FIXTURES, 'tls', name), 'utf8');

/** What the test server saw. */
export interface Seen {
  calls: { method: string; request: Record<string, unknown>; metadata: grpc.Metadata }[];
  /** Methods whose call the server saw cancelled (by the client, or by its deadline). */
  cancelled: string[];
}

/** Starts demo.Greeter on 127.0.0.1 (TLS with the fixture certificate, reflection: on request); stopped at the end. */
export async function startGreeter(
  t: TestContext,
  options: { tls?: boolean; reflection?: boolean | 'v1alpha-per-file' } = {},
) {
  const definition = protoLoader.loadSync('demo/greeter.proto', {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    demo: { Greeter: { service: grpc.ServiceDefinition } };
  };
  const seen: Seen = { calls: [], cancelled: [] };
  const note = (method: string, call: { request?: unknown; metadata: grpc.Metadata }) =>
    seen.calls.push({ method, request: (call.request ?? {}) as Record<string, unknown>, metadata: call.metadata });
  const server = new grpc.Server();
  server.addService(loaded.demo.Greeter.service, {
    SayHello(call: grpc.ServerUnaryCall<{ name: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      note('SayHello', call);
      const headers = new grpc.Metadata();
      headers.set('x-served-by', 'greeter');
      headers.set('x-seen-auth', call.metadata.get('authorization').length ? 'yes' : 'no');
      call.sendMetadata(headers);
      const trailers = new grpc.Metadata();
      trailers.set('x-trailer', 'done');
      trailers.set('x-trailer-bin', Buffer.from([1, 2, 3]));
      const reply = { message: `hello ${call.request.name}`, mood: 'HAPPY', big: '9007199254740993', raw: 'aGk=' };
      callback(null, reply, trailers);
    },
    Fail(
      call: grpc.ServerUnaryCall<{ code: number; details: string }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) {
      note('Fail', call);
      // `$auth` in the details echoes the authorization metadata (a server quoting a token back).
      const auth = String(call.metadata.get('authorization')[0] ?? '');
      callback({ code: call.request.code, details: call.request.details.replace('$auth', auth) });
    },
    Sleep(call: grpc.ServerUnaryCall<{ ms: number }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      note('Sleep', call);
      const timer = setTimeout(() => callback(null, { message: 'slept' }), call.request.ms);
      call.on('cancelled', () => {
        clearTimeout(timer);
        seen.cancelled.push('Sleep');
      });
    },
    Count(call: grpc.ServerWritableStream<{ count: number }, unknown>) {
      note('Count', call);
      for (let i = 1; i <= call.request.count; i++) call.write({ message: `#${i}` });
      call.end();
    },
    Collect(call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
      note('Collect', call);
      call.on('data', () => undefined);
      call.on('end', () => callback(null, { message: 'collected' }));
    },
  });
  let reflectionAsked: string[] = [];
  if (options.reflection === 'v1alpha-per-file') reflectionAsked = addPerFileReflection(server);
  else if (options.reflection) new ReflectionService(definition).addToServer(server);
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(
        null,
        [{ private_key: Buffer.from(tlsFile('server-key.pem')), cert_chain: Buffer.from(tlsFile('server.pem')) }],
        false,
      )
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  t.after(() => server.forceShutdown());
  return { port, server: `127.0.0.1:${port}`, seen, reflectionAsked };
}

// The test servers listen on 127.0.0.1, which the outbound policy refuses unless allowed.
export const localTargets = { outbound: { allow_hosts: ['127.0.0.1'] } };

/** An app with `@apflow/grpc` loaded by its package name; `config` is merged over local targets allowed. */
export function grpcApp(
  t: TestContext,
  config: Record<string, unknown> = {},
  options: Parameters<typeof testApp>[2] = {},
) {
  return testApp(t, { plugins: ['@apflow/grpc'], ...localTargets, ...config }, options);
}

/** Runs one grpc_executor task to its end; resolves with its row and the events of the run. */
export async function runGrpc(
  app: App,
  inputs: Record<string, unknown>,
  extra: { params?: Record<string, unknown>; demo?: boolean } = {},
) {
  const tree = await app.engine.createTree([
    {
      name: 'grpc call',
      schemas: { method: 'grpc_executor' },
      inputs,
      ...(extra.params ? { params: extra.params } : {}),
    },
  ]);
  const events: TaskEvent[] = [];
  const stop = app.engine.subscribe((event) => event.root_task_id === tree.id && events.push(event));
  const { done } = started(await app.engine.execute(tree.id, { demo: extra.demo === true }));
  await done;
  stop();
  const row = await app.tasks.get(tree.id);
  if (!row) throw new Error('the task is gone');
  return { row, events };
}
