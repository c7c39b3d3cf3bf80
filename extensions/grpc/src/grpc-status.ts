import { ApflowError, isRecord, type ErrorCode } from 'apflow';
import { ID } from './executor-id.ts';

/** A gRPC status as the result shows it (`code` 0 is OK). */
export interface GrpcStatusJson {
  code: number;
  name: string;
  details: string;
}

/** The status a failed call ended with (grpc-js's `ServiceError` and `StatusObject` both carry these). */
export interface FailedStatus {
  code: number;
  details: string;
}

const NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/**
 * The apflow code of each status that is not worth retrying: the same request fails the same
 * way (a bad argument, a missing entity or method, a refusal). Every other status (UNAVAILABLE,
 * DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, CANCELLED by the server) is APF_UNAVAILABLE,
 * and UNKNOWN / INTERNAL / DATA_LOSS are APF_INTERNAL: both may be retried (`params.retries`).
 */
const CODES: Readonly<Record<string, ErrorCode>> = {
  INVALID_ARGUMENT: 'APF_INVALID_PARAMS',
  ALREADY_EXISTS: 'APF_INVALID_PARAMS',
  FAILED_PRECONDITION: 'APF_INVALID_PARAMS',
  OUT_OF_RANGE: 'APF_INVALID_PARAMS',
  NOT_FOUND: 'APF_NOT_FOUND',
  UNIMPLEMENTED: 'APF_NOT_FOUND',
  PERMISSION_DENIED: 'APF_FORBIDDEN',
  UNAUTHENTICATED: 'APF_FORBIDDEN',
  UNKNOWN: 'APF_INTERNAL',
  INTERNAL: 'APF_INTERNAL',
  DATA_LOSS: 'APF_INTERNAL',
};

/** The name of a status code (`NOT_FOUND` for 5). */
export function statusName(code: number): string {
  return NAMES[code] ?? `CODE_${code}`;
}

/** A status as JSON: code, name, details. */
export function statusJson(status: FailedStatus): GrpcStatusJson {
  return { code: status.code, name: statusName(status.code), details: status.details };
}

/** Whether `value` is a gRPC status (a grpc-js `ServiceError` or `StatusObject`). */
export function isFailedStatus(value: unknown): value is FailedStatus {
  return isRecord(value) && typeof value.code === 'number' && typeof value.details === 'string';
}

/**
 * The task's error for a call `label` (`demo.Greeter/SayHello`) that ended with `status`:
 * "grpc_executor: demo.Greeter/SayHello failed: NOT_FOUND (5): details".
 */
export function statusError(label: string, status: FailedStatus): ApflowError {
  const name = statusName(status.code);
  const details = status.details ? `: ${status.details}` : '';
  return new ApflowError(CODES[name] ?? 'APF_UNAVAILABLE', {
    message: `${ID}: ${label} failed: ${name} (${status.code})${details}`,
    data: { grpc_status: statusJson(status) },
  });
}
