import { Type, type Static } from 'apflow';
import { MAX_BYTES_CAP, MAX_BYTES_DEFAULT } from './response-reader.ts';

/** Bounds the `.proto` text a task carries (a schema, not a data file; protobufjs parses it on the event loop). */
export const MAX_PROTO_CHARS = 256 * 1024;

const Tls = Type.Union([
  Type.Boolean(),
  Type.Object(
    {
      ca: Type.Optional(Type.String({ description: 'PEM of the CA(s) to trust instead of the system roots' })),
      cert: Type.Optional(Type.String({ description: 'PEM client certificate (mutual TLS), with key' })),
      key: Type.Optional(Type.String({ description: 'PEM private key of cert (a secret input)' })),
      server_name: Type.Optional(Type.String({ description: 'name the certificate must match (default: the host)' })),
      insecure_skip_verify: Type.Optional(
        Type.Boolean({ description: 'accept any certificate (testing only: no protection against interception)' }),
      ),
    },
    { additionalProperties: false },
  ),
]);

/** The inputs of `grpc_executor` (the original's names, plus `proto`, `tls`, `max_messages` and `max_bytes`). */
export const GrpcInputs = Type.Object({
  server: Type.String({ minLength: 1, description: '"host:port" of the gRPC server' }),
  service: Type.String({
    minLength: 1,
    pattern: '^[A-Za-z_][A-Za-z0-9_.]*$',
    description: 'fully qualified service name, e.g. "demo.Greeter"',
  }),
  method: Type.String({
    minLength: 1,
    pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
    description: 'method name, e.g. "SayHello"',
  }),
  request: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), { description: 'the request message as JSON (proto field names)' }),
  ),
  proto: Type.Optional(
    Type.String({ minLength: 1, maxLength: MAX_PROTO_CHARS, description: 'the .proto text defining the service' }),
  ),
  proto_file: Type.Optional(
    Type.String({ minLength: 1, description: 'a .proto file inside config grpc.proto_dirs (relative to one of them)' }),
  ),
  metadata: Type.Optional(
    Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]), {
      description: 'request metadata (headers); values are secret inputs. Keys ending in -bin take base64',
    }),
  ),
  timeout: Type.Optional(
    Type.Number({ exclusiveMinimum: 0, maximum: 86_400, default: 30, description: 'the call deadline, in seconds' }),
  ),
  tls: Type.Optional(Tls),
  max_messages: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 1000,
      description: 'server streaming: messages kept at most (the stream is cancelled after)',
    }),
  ),
  max_bytes: Type.Optional(
    Type.Integer({
      minimum: 1024,
      maximum: MAX_BYTES_CAP,
      default: MAX_BYTES_DEFAULT,
      description:
        'bytes of response kept at most, counted on the wire and again as JSON: a larger unary response fails, a stream is cut (truncated)',
    }),
  ),
});

/** The checked inputs. */
export type GrpcInputs = Static<typeof GrpcInputs>;
