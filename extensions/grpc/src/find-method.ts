import { ApflowError, isRecord } from 'apflow';
import type { MethodDefinition, PackageDefinition } from '@grpc/proto-loader';

const ID = 'grpc_executor';

/** The method `service/method` of a schema, or why it cannot be called. */
export function findMethod(
  definition: PackageDefinition,
  service: string,
  method: string,
): MethodDefinition<object, object> {
  const found: unknown = definition[service];
  if (!isService(found)) {
    const services = Object.keys(definition).filter((name) => isService(definition[name]));
    throw new ApflowError('APF_NOT_FOUND', {
      message: `${ID}: the schema has no service ${service} (services: ${services.join(', ') || 'none'})`,
    });
  }
  const entry = found[method];
  if (!isMethod(entry)) {
    throw new ApflowError('APF_NOT_FOUND', {
      message: `${ID}: ${service} has no method ${method} (methods: ${Object.keys(found).join(', ')})`,
    });
  }
  if (entry.requestStream) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${ID}: ${service}/${method} takes a stream of requests; only unary and server-streaming methods can be called`,
    });
  }
  return entry;
}

/** A service of a package definition: its entries are methods (message and enum types carry a `format`). */
function isService(entry: unknown): entry is Record<string, unknown> {
  return isRecord(entry) && !('format' in entry) && Object.values(entry).some(isMethod);
}

/** Whether a package definition entry is a method (path and serializers). */
export function isMethod(entry: unknown): entry is MethodDefinition<object, object> {
  return isRecord(entry) && typeof entry.path === 'string' && typeof entry.requestSerialize === 'function';
}
