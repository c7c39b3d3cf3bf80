import { ApflowError, isApflowError, isRecord } from 'apflow';
import { errorText } from './error-text.ts';
import type { Client, ClientDuplexStream, Metadata } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { isMethod } from './find-method.ts';
import { LOADER_OPTIONS, type GrpcLibs } from './grpc-libs.ts';
import { isFailedStatus, statusError, type FailedStatus } from './grpc-status.ts';
import { reflectionDescriptor, reflectionService } from './reflection-proto.ts';

/** What the reflection calls share with the task's call. */
export interface ReflectOptions {
  metadata: Metadata;
  deadline: Date;
  signal: AbortSignal;
  /** `host:port`, for messages. */
  authority: string;
}

type Version = 'v1' | 'v1alpha';
type Ask = (request: Record<string, string>) => Promise<unknown>;

const ID = 'grpc_executor';
const UNIMPLEMENTED = 12;
/** Bounds the files one lookup gathers: a schema and its imports, not a whole registry. */
const MAX_FILES = 200;

/**
 * The schema of `service` from the server's reflection service (v1, else v1alpha): the file
 * that defines it and every file it imports, asked for until none is missing.
 */
export async function reflectSchema(
  libs: GrpcLibs,
  client: Client,
  service: string,
  options: ReflectOptions,
): Promise<PackageDefinition> {
  for (const version of ['v1', 'v1alpha'] as const) {
    const label = `${reflectionService(version)}/ServerReflectionInfo`;
    let files: Map<string, Uint8Array>;
    try {
      files = await gatherFiles(libs, client, version, service, options);
    } catch (error) {
      if (isFailedStatus(error) && error.code === UNIMPLEMENTED) continue;
      throw isFailedStatus(error) && !isApflowError(error) ? statusError(label, error) : error;
    }
    const set = libs.protobuf.Writer.create();
    for (const bytes of files.values()) set.uint32(10).bytes(bytes);
    try {
      return libs.loader.loadFileDescriptorSetFromBuffer(Buffer.from(set.finish()), LOADER_OPTIONS);
    } catch (error) {
      throw new ApflowError('APF_INTERNAL', {
        message: `${ID}: the descriptors ${options.authority} sent by reflection do not load: ${errorText(error)}`,
      });
    }
  }
  throw new ApflowError('APF_INVALID_PARAMS', {
    message: `${ID}: ${options.authority} does not offer server reflection (grpc.reflection v1 or v1alpha); pass the .proto text as proto, or a proto_file`,
  });
}

async function gatherFiles(
  libs: GrpcLibs,
  client: Client,
  version: Version,
  service: string,
  options: ReflectOptions,
): Promise<Map<string, Uint8Array>> {
  const definition = libs.loader.fromJSON(reflectionDescriptor(version), { keepCase: true });
  const reflection: unknown = definition[reflectionService(version)];
  const method = isRecord(reflection) ? reflection.ServerReflectionInfo : undefined;
  if (!isMethod(method))
    throw new ApflowError('APF_INTERNAL', { message: `${ID}: the reflection schema has no method` });
  const stream = client.makeBidiStreamRequest(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    options.metadata,
    { deadline: options.deadline },
  );
  const { ask, close } = askOver(stream, options.signal);
  let ok = false;
  try {
    const files = new Map<string, Uint8Array>();
    const wanted = new Set<string>();
    const add = (answer: unknown, what: string) => {
      for (const bytes of descriptorsOf(answer, what)) {
        const { name, dependencies } = fileHeader(libs, bytes);
        files.set(name, bytes);
        for (const dependency of dependencies) if (!files.has(dependency)) wanted.add(dependency);
      }
    };
    add(await ask({ file_containing_symbol: service }), service);
    for (let next = first(wanted, files); next !== undefined; next = first(wanted, files)) {
      if (files.size >= MAX_FILES) {
        throw new ApflowError('APF_UNAVAILABLE', {
          message: `${ID}: the schema of ${service} by reflection spans more than ${MAX_FILES} files`,
        });
      }
      wanted.delete(next);
      add(await ask({ file_by_filename: next }), next);
    }
    ok = true;
    return files;
  } finally {
    close(ok);
  }
}

/** Sends one request at a time on the reflection stream and waits for its answer (they come in order). */
function askOver(
  stream: ClientDuplexStream<object, object>,
  signal: AbortSignal,
): { ask: Ask; close(ok: boolean): void } {
  const waiting: { resolve(value: unknown): void; reject(error: unknown): void }[] = [];
  let failure: unknown;
  const fail = (error: unknown) => {
    failure ??= error;
    for (const entry of waiting.splice(0)) entry.reject(failure);
  };
  stream.on('data', (answer: unknown) => waiting.shift()?.resolve(answer));
  stream.on('error', fail);
  stream.on('end', () => fail({ code: 13, details: 'the reflection stream ended without an answer' } as FailedStatus));
  const onAbort = () => stream.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  return {
    ask: (request) =>
      failure
        ? Promise.reject(failure)
        : new Promise((resolve, reject) => {
            waiting.push({ resolve, reject });
            stream.write(request);
          }),
    close(ok) {
      signal.removeEventListener('abort', onAbort);
      if (ok) stream.end();
      else stream.cancel();
    },
  };
}

/** The file descriptors of a reflection answer, or its error as the task's error. */
function descriptorsOf(answer: unknown, what: string): Uint8Array[] {
  if (isRecord(answer) && isRecord(answer.error_response)) {
    const { error_code: code, error_message: details } = answer.error_response;
    throw statusError(`reflection of ${what}`, {
      code: typeof code === 'number' ? code : 2,
      details: typeof details === 'string' ? details : '',
    });
  }
  const files = isRecord(answer) && isRecord(answer.file_descriptor_response) ? answer.file_descriptor_response : {};
  const list = Array.isArray(files.file_descriptor_proto) ? files.file_descriptor_proto : [];
  return list.filter((entry): entry is Uint8Array => entry instanceof Uint8Array);
}

/** A FileDescriptorProto's name (field 1) and imports (field 3), read without decoding the rest. */
function fileHeader(libs: GrpcLibs, bytes: Uint8Array): { name: string; dependencies: string[] } {
  const reader = libs.protobuf.Reader.create(bytes);
  let name = '';
  const dependencies: string[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) name = reader.string();
    else if (tag === 26) dependencies.push(reader.string());
    else reader.skipType(tag & 7);
  }
  return { name, dependencies };
}

function first(wanted: Set<string>, files: Map<string, Uint8Array>): string | undefined {
  for (const name of wanted) {
    if (!files.has(name)) return name;
    wanted.delete(name);
  }
  return undefined;
}
