import { ApflowError } from 'apflow';
import type { Namespace, Root, Type } from 'protobufjs';
import { ID } from './executor-id.ts';
import type { GrpcLibs } from './grpc-libs.ts';

/** A method found in a schema: what a call needs. */
export interface FoundMethod {
  /** `/package.Service/Method`. */
  path: string;
  requestType: Type;
  responseType: Type;
  responseStream: boolean;
}

/** The method `service/method` of a schema (resolved), or why it cannot be called. */
export function findMethod(libs: GrpcLibs, root: Root, service: string, method: string): FoundMethod {
  const found = root.lookup(service);
  if (!(found instanceof libs.protobuf.Service)) {
    const services = servicesOf(libs, root);
    throw new ApflowError('APF_NOT_FOUND', {
      message: `${ID}: the schema has no service ${service} (services: ${services.join(', ') || 'none'})`,
    });
  }
  const entry = found.methods[method];
  if (!entry) {
    throw new ApflowError('APF_NOT_FOUND', {
      message: `${ID}: ${service} has no method ${method} (methods: ${Object.keys(found.methods).join(', ')})`,
    });
  }
  if (entry.requestStream) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${ID}: ${service}/${method} takes a stream of requests; only unary and server-streaming methods can be called`,
    });
  }
  entry.resolve();
  const { resolvedRequestType: requestType, resolvedResponseType: responseType } = entry;
  if (!requestType || !responseType) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${ID}: ${service}/${method} names a request or response type the schema does not define`,
    });
  }
  return { path: `/${service}/${method}`, requestType, responseType, responseStream: entry.responseStream === true };
}

/** The fully qualified names of the services of a schema. */
function servicesOf(libs: GrpcLibs, namespace: Namespace): string[] {
  return namespace.nestedArray.flatMap((nested) => {
    if (nested instanceof libs.protobuf.Service) return [nested.fullName.replace(/^\./, '')];
    return nested instanceof libs.protobuf.Namespace ? servicesOf(libs, nested) : [];
  });
}
