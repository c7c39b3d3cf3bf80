import type { AnyNestedObject, INamespace } from 'protobufjs';

/**
 * The part of the gRPC server reflection protocol (grpc/reflection/v1 and v1alpha,
 * `ServerReflectionInfo`) this client uses, as a protobufjs JSON descriptor: file lookups by
 * symbol and by file name, the descriptors answered, and the error answer. Both versions share
 * the messages; only the package differs.
 */
export function reflectionDescriptor(version: 'v1' | 'v1alpha'): INamespace {
  const messages: Record<string, AnyNestedObject> = {
    ServerReflectionRequest: {
      fields: {
        host: { type: 'string', id: 1 },
        file_by_filename: { type: 'string', id: 3 },
        file_containing_symbol: { type: 'string', id: 4 },
      },
    },
    ServerReflectionResponse: {
      fields: {
        valid_host: { type: 'string', id: 1 },
        file_descriptor_response: { type: 'FileDescriptorResponse', id: 4 },
        error_response: { type: 'ErrorResponse', id: 7 },
      },
    },
    FileDescriptorResponse: { fields: { file_descriptor_proto: { rule: 'repeated', type: 'bytes', id: 1 } } },
    ErrorResponse: {
      fields: { error_code: { type: 'int32', id: 1 }, error_message: { type: 'string', id: 2 } },
    },
    ServerReflection: {
      methods: {
        ServerReflectionInfo: {
          requestType: 'ServerReflectionRequest',
          requestStream: true,
          responseType: 'ServerReflectionResponse',
          responseStream: true,
          comment: '',
        },
      },
    },
  };
  return { nested: { grpc: { nested: { reflection: { nested: { [version]: { nested: messages } } } } } } };
}

/** The fully qualified name of the reflection service of `version`. */
export const reflectionService = (version: 'v1' | 'v1alpha') => `grpc.reflection.${version}.ServerReflection`;
