import { loadOnce } from 'apflow';

/** The gRPC and protobuf libraries, loaded together on the first call (a server that never calls gRPC never loads them). */
export const loadGrpcLibs = loadOnce(async () => {
  const [grpc, protobuf, descriptor] = await Promise.all([
    import('@grpc/grpc-js'),
    import('protobufjs'),
    import('protobufjs/ext/descriptor/index.js'),
  ]);
  return { grpc, protobuf: protobuf.default, descriptor: descriptor.default };
});

/** The libraries {@link loadGrpcLibs} resolves with. */
export type GrpcLibs = Awaited<ReturnType<typeof loadGrpcLibs>>;
