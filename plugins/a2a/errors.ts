import {
  A2A_ERROR_CODE,
  RequestMalformedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from '@a2a-js/sdk/errors';
import { toWireError, type Logger, type RpcErrorObject } from 'apflow';

const INTERNAL_CODE: number = A2A_ERROR_CODE.INTERNAL_ERROR;

// A2A's default messages lead (the v0.3 conformance kit looks for their words); the reason follows.

/** -32001: no such task (also another user's: its existence is not revealed). */
export const taskNotFound = (id: string) => new TaskNotFoundError(`Task not found: ${id}`);

/** -32002: the task is terminal. */
export const taskNotCancelable = (id: string, state: string) =>
  new TaskNotCancelableError(`Task cannot be canceled: ${id} is already ${stateName(state)}`);

/** -32004: what was asked is not possible (here, or at all). */
export const unsupported = (reason: string) =>
  new UnsupportedOperationError(`This operation is not supported: ${reason}`);

/** -32602: the params are wrong; `reason` says how. */
export const invalidParams = (reason: string) => new RequestMalformedError(reason);

/** `TASK_STATE_INPUT_REQUIRED` → `input-required`. */
export const stateName = (state: string) =>
  state
    .replace(/^TASK_STATE_/, '')
    .toLowerCase()
    .replace(/_/g, '-');

/**
 * A JSON-RPC error for the wire: an internal one (-32603, whatever its text: a stack overflow, a
 * database message) becomes apflow's "Internal error" with the request id to look up in the log,
 * as on every other route; the others are kept.
 */
export function hideInternal(error: RpcErrorObject, requestId: string, log: Logger, method: string): RpcErrorObject {
  if (error.code !== INTERNAL_CODE) return error;
  log.error({ a2a_error: error.message, method }, 'A2A call failed with an internal error');
  return toWireError(new Error('internal'), requestId).body;
}
