import { isAbsolute } from 'node:path';
import { ApflowError, definePlugin, Type } from 'apflow';
import { createGrpcExecutor } from './grpc-executor.ts';

export { createGrpcExecutor, type GrpcSettings } from './grpc-executor.ts';
export { GrpcInputs } from './grpc-inputs.ts';

const Settings = Type.Object(
  {
    proto_dirs: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'absolute folders whose .proto files tasks may name (proto_file) and import; none by default',
    }),
  },
  { additionalProperties: false, default: {} },
);

/**
 * `@apflow/grpc`: `grpc_executor`, gRPC calls through the outbound policy. Config section `grpc`:
 * `proto_dirs`, the only folders a task may make the server read `.proto` files from.
 */
export default definePlugin({
  name: 'grpc',
  version: '0.1.0',
  description: 'grpc_executor: unary and server-streaming gRPC calls from a .proto or server reflection',
  config: { key: 'grpc', schema: Settings },
  setup(app) {
    const dirs = app.settings.proto_dirs;
    const relative = dirs.find((dir) => !isAbsolute(dir));
    if (relative !== undefined) {
      throw new ApflowError('APF_CONFIG_INVALID', {
        message: `grpc.proto_dirs must hold absolute paths; "${relative}" is relative`,
      });
    }
    app.executors.register(createGrpcExecutor({ proto_dirs: dirs }));
  },
});
