import type { FastifyError } from 'fastify';
import { ApflowError, isApflowError, toApflowError } from '../errors/apflow-error.ts';
import { errorCatalogue } from '../errors/error-catalogue.ts';

/** A JSON-RPC error object. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** Statuses that stay on the HTTP response of a JSON-RPC route; every other RPC error is 200. */
const TRANSPORT_STATUSES = new Set([401, 413, 415, 429, 503]);

/**
 * The one place where errors become wire shapes. Internal errors never carry their message or
 * stack to the wire: only "Internal error" and the request id to look up in the logs.
 */
export function toWireError(
  value: unknown,
  requestId?: string,
): { error: ApflowError; status: number; body: RpcErrorObject } {
  const error = toApflowError(fromFastifyError(value));
  const entry = errorCatalogue[error.code];
  const internal = error.code === 'APF_INTERNAL';
  const body: RpcErrorObject = { code: entry.rpc, message: internal ? entry.message : error.message };
  const data = internal ? (requestId ? { request_id: requestId } : undefined) : error.data;
  if (data !== undefined) body.data = data;
  return { error, status: entry.status, body };
}

/** HTTP status and body for a JSON-RPC route (DESIGN.md §2: 200 unless transport-level). */
export function toRpcResponse(value: unknown, id: unknown, requestId?: string) {
  const { error, status, body } = toWireError(value, requestId);
  return {
    error,
    status: TRANSPORT_STATUSES.has(status) ? status : 200,
    body: { jsonrpc: '2.0' as const, id: normaliseId(id), error: body },
  };
}

/** HTTP status and body for a REST route: `{error: {code: 'APF_…', message, data?}}`. */
export function toRestResponse(value: unknown, requestId?: string) {
  const { error, status, body } = toWireError(value, requestId);
  const payload: Record<string, unknown> = { code: error.code, message: body.message };
  if (body.data !== undefined) payload.data = body.data;
  return { error, status, body: { error: payload } };
}

/** A JSON-RPC id as echoed back: strings and numbers as given, anything else null. */
export function normaliseId(id: unknown): string | number | null {
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** Fastify's own errors (body limit, bad media type, bad JSON) as catalogue errors. */
function fromFastifyError(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || isApflowError(value) || !isFastifyError(value)) return value;
  const { code, statusCode, message } = value;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new ApflowError('APF_BODY_TOO_LARGE', { message: 'Request body is larger than server.body_limit' });
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new ApflowError('APF_UNSUPPORTED_MEDIA_TYPE', { message: message ?? 'Unsupported media type: send JSON' });
  }
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return new ApflowError('APF_PARSE_ERROR', { message: `Parse error: ${message ?? 'invalid JSON'}` });
  }
  if (statusCode === 404) return new ApflowError('APF_ROUTE_NOT_FOUND', { message: message ?? 'Route not found' });
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return new ApflowError('APF_INVALID_REQUEST', { message: message ?? 'Invalid request' });
  }
  return value;
}

/** Fastify's own errors are the ones with an `FST_…` code. */
function isFastifyError(value: object): value is FastifyError {
  return 'code' in value && typeof value.code === 'string' && value.code.startsWith('FST_');
}
