import { ApflowError, isApflowError, isRecord } from 'apflow';
import { errorText } from './error-text.ts';
import type { Client, ClientDuplexStream, Metadata } from '@grpc/grpc-js';
import type { Reader, Root } from 'protobufjs';
import { ID } from './executor-id.ts';
import type { GrpcLibs } from './grpc-libs.ts';
import { isFailedStatus, statusError, type FailedStatus } from './grpc-status.ts';
import { reflectionDescriptor, reflectionService } from './reflection-proto.ts';
import { checkDescriptors, type CountedFile } from './schema-limits.ts';

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

const UNIMPLEMENTED = 12;
/** Bounds one lookup: a schema and its imports, not a whole registry. Every request and every file counts. */
export const MAX_REFLECTION_REQUESTS = 200;
export const MAX_REFLECTION_FILES = 200;
export const MAX_REFLECTION_BYTES = 8 * 1024 * 1024;

/**
 * The schema of `service` from the server's reflection service (v1, else v1alpha): the file
 * that defines it and every file it imports, asked for until none is missing.
 */
export async function reflectSchema(
  libs: GrpcLibs,
  client: Client,
  service: string,
  options: ReflectOptions,
): Promise<Root> {
  for (const version of ['v1', 'v1alpha'] as const) {
    const label = `${reflectionService(version)}/ServerReflectionInfo`;
    let files: Map<string, Uint8Array>;
    try {
      files = await gatherFiles(libs, client, version, service, options);
    } catch (error) {
      if (isFailedStatus(error) && error.code === UNIMPLEMENTED) continue;
      throw isFailedStatus(error) && !isApflowError(error) ? statusError(label, error) : error;
    }
    return buildRoot(libs, [...files.values()], options.authority);
  }
  throw new ApflowError('APF_INVALID_PARAMS', {
    message: `${ID}: ${options.authority} does not offer server reflection (grpc.reflection v1 or v1alpha); pass the .proto text as proto, or a proto_file`,
  });
}

/** The schema built from the descriptors reflection sent, counted before it is built. */
function buildRoot(libs: GrpcLibs, files: Uint8Array[], authority: string): Root {
  // The descriptor extension adds Root.fromDescriptor at run time; its typings do not declare it.
  const RootClass = libs.protobuf.Root as unknown as { fromDescriptor?: (set: object) => Root };
  try {
    const decoded = files.map((bytes) => libs.descriptor.FileDescriptorProto.decode(bytes));
    // The decoded descriptors are plain protobufjs messages: the counted parts are arrays or absent.
    checkDescriptors(decoded as CountedFile[], `the schema ${authority} sent by reflection`);
    if (!RootClass.fromDescriptor) throw new Error('protobufjs has no descriptor support');
    const root = RootClass.fromDescriptor({ file: decoded });
    root.resolveAll();
    return root;
  } catch (error) {
    if (isApflowError(error)) throw error;
    throw new ApflowError('APF_INTERNAL', {
      message: `${ID}: the descriptors ${authority} sent by reflection do not load: ${errorText(error)}`,
    });
  }
}

async function gatherFiles(
  libs: GrpcLibs,
  client: Client,
  version: Version,
  service: string,
  options: ReflectOptions,
): Promise<Map<string, Uint8Array>> {
  const root = libs.protobuf.Root.fromJSON(reflectionDescriptor(version));
  const method = root.lookupService(reflectionService(version)).methods.ServerReflectionInfo;
  const request = root.lookupType(`grpc.reflection.${version}.ServerReflectionRequest`);
  const response = root.lookupType(`grpc.reflection.${version}.ServerReflectionResponse`);
  if (!method) throw new ApflowError('APF_INTERNAL', { message: `${ID}: the reflection schema has no method` });
  const stream = client.makeBidiStreamRequest(
    `/${reflectionService(version)}/ServerReflectionInfo`,
    (message: object) => Buffer.from(request.encode(request.fromObject(message)).finish()),
    (bytes: Buffer) => response.toObject(response.decode(bytes)),
    options.metadata,
    { deadline: options.deadline },
  );
  const { ask, close } = askOver(stream, options.signal);
  const limit = (what: string) =>
    new ApflowError('APF_UNAVAILABLE', {
      message: `${ID}: the schema of ${service} by reflection from ${options.authority} passes ${what}; pass the .proto text as proto instead`,
    });
  let ok = false;
  let requests = 0;
  let bytesSeen = 0;
  let descriptorsSeen = 0;
  const askFor = (question: Record<string, string>) => {
    requests += 1;
    if (requests > MAX_REFLECTION_REQUESTS) throw limit(`${MAX_REFLECTION_REQUESTS} reflection requests`);
    return ask(question);
  };
  try {
    const files = new Map<string, Uint8Array>();
    const wanted = new Set<string>();
    const add = (answer: unknown, what: string, fileName?: string) => {
      const descriptors = descriptorsOf(answer, what);
      const headers = descriptors.map((bytes) => ({ bytes, ...fileHeader(libs, bytes, options.authority) }));
      if (fileName !== undefined && !headers.some((header) => header.name === fileName)) {
        throw new ApflowError('APF_INTERNAL', {
          message: `${ID}: ${options.authority} answered the reflection request for file ${fileName} without that file`,
        });
      }
      for (const { bytes, name, dependencies } of headers) {
        descriptorsSeen += 1;
        bytesSeen += bytes.length;
        if (bytesSeen > MAX_REFLECTION_BYTES) throw limit(`${MAX_REFLECTION_BYTES} bytes of descriptors`);
        if (descriptorsSeen > MAX_REFLECTION_FILES) throw limit(`${MAX_REFLECTION_FILES} files`);
        files.set(name, bytes);
        for (const dependency of dependencies) if (!files.has(dependency)) wanted.add(dependency);
      }
      if (files.size + wanted.size > MAX_REFLECTION_FILES) throw limit(`${MAX_REFLECTION_FILES} files`);
    };
    add(await askFor({ file_containing_symbol: service }), service);
    for (let next = first(wanted, files); next !== undefined; next = first(wanted, files)) {
      wanted.delete(next);
      add(await askFor({ file_by_filename: next }), next, next);
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
  const ended: FailedStatus = { code: 13, details: 'the reflection stream ended without an answer' };
  stream.on('end', () => fail(ended));
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

/**
 * A FileDescriptorProto's name (field 1) and imports (field 3), read without decoding the rest.
 * Malformed bytes (protobufjs throws RangeError) are the server's fault: APF_INTERNAL.
 */
function fileHeader(libs: GrpcLibs, bytes: Uint8Array, authority: string): { name: string; dependencies: string[] } {
  try {
    return readHeader(libs.protobuf.Reader.create(bytes));
  } catch (error) {
    throw new ApflowError('APF_INTERNAL', {
      message: `${ID}: ${authority} sent a malformed file descriptor by reflection: ${errorText(error)}`,
    });
  }
}

function readHeader(reader: Reader): { name: string; dependencies: string[] } {
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
