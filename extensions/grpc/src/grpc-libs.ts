import { loadOnce } from 'apflow';

/** The gRPC and protobuf libraries, loaded together on the first call (a server that never calls gRPC never loads them). */
export const loadGrpcLibs = loadOnce(async () => {
  const [grpc, loader, protobuf] = await Promise.all([
    import('@grpc/grpc-js'),
    import('@grpc/proto-loader'),
    import('protobufjs'),
  ]);
  return { grpc, loader, protobuf: protobuf.default };
});

/** The libraries {@link loadGrpcLibs} resolves with. */
export type GrpcLibs = Awaited<ReturnType<typeof loadGrpcLibs>>;

/**
 * How messages become JSON: proto field names as written (`keepCase`), 64-bit integers and
 * enums as strings, bytes as base64, every field present (`defaults`), and the set oneof named.
 */
export const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: String,
  defaults: true,
  oneofs: true,
  json: true,
} as const;
