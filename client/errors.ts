/**
 * The errors the client throws. Every one is an {@link ApflowClientError}; an answer of the
 * server is an {@link ApflowRpcError} (or one of its named kinds) carrying the JSON-RPC `code`,
 * the error's `data` and the HTTP status.
 */
export class ApflowClientError extends Error {
  override name = 'ApflowClientError';
}

/** The server could not be reached, or answered with something that is not JSON-RPC (a proxy's 502 page). */
export class ApflowConnectionError extends ApflowClientError {
  override name = 'ApflowConnectionError';
  constructor(
    message: string,
    /** The HTTP status, when an answer came. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A request took longer than the client's `timeout`. */
export class ApflowTimeoutError extends ApflowClientError {
  override name = 'ApflowTimeoutError';
}

/** What the server answered for a failed call. */
export interface RpcErrorFields {
  /** The JSON-RPC error code (-32602 invalid params, -32004 not found, …; docs/api.md lists them). */
  code: number;
  message: string;
  data?: unknown;
  /** The HTTP status of the answer (200 for most JSON-RPC errors). */
  status: number;
  /** The method called. */
  method: string;
}

/** A JSON-RPC error answer. `instanceof` one of its subclasses to tell the common kinds apart. */
export class ApflowRpcError extends ApflowClientError {
  override name = 'ApflowRpcError';
  readonly code: number;
  readonly data: unknown;
  readonly status: number;
  readonly method: string;
  constructor(fields: RpcErrorFields) {
    super(fields.message);
    this.code = fields.code;
    this.data = fields.data;
    this.status = fields.status;
    this.method = fields.method;
  }
}

/** -32602: the params were wrong; the message lists what. */
export class InvalidParamsError extends ApflowRpcError {
  override name = 'InvalidParamsError';
}
/** -32601: no such method on this server (a plugin may be disabled). */
export class MethodNotFoundError extends ApflowRpcError {
  override name = 'MethodNotFoundError';
}
/** -32001 / HTTP 401: no token, or one the server refused. */
export class AuthenticationError extends ApflowRpcError {
  override name = 'AuthenticationError';
}
/** -32003: the caller may read the task but not change it (or may not act as that user). */
export class PermissionError extends ApflowRpcError {
  override name = 'PermissionError';
}
/** -32004: no such task (or schedule), or one the caller may not see. */
export class NotFoundError extends ApflowRpcError {
  override name = 'NotFoundError';
}
/** -32005: the call conflicts with the task's state (running, not waiting for input, …). */
export class ConflictError extends ApflowRpcError {
  override name = 'ConflictError';
}
/** -32029 / HTTP 429: too many requests. */
export class RateLimitError extends ApflowRpcError {
  override name = 'RateLimitError';
}

/**
 * -32001 / HTTP 429: the caller's daily budget is spent (the quotas plugin); `data` says
 * `{reason, used, limit, reset_at}`. Not retried: it lasts until `reset_at`.
 */
export class QuotaExceededError extends ApflowRpcError {
  override name = 'QuotaExceededError';
}

const KINDS: Record<number, typeof ApflowRpcError> = {
  [-32602]: InvalidParamsError,
  [-32601]: MethodNotFoundError,
  [-32001]: AuthenticationError,
  [-32003]: PermissionError,
  [-32004]: NotFoundError,
  [-32005]: ConflictError,
  [-32029]: RateLimitError,
};

/** The error for a JSON-RPC error answer: its named kind when the code has one. */
export function rpcError(fields: RpcErrorFields): ApflowRpcError {
  const Kind =
    fields.status === 401
      ? AuthenticationError
      : fields.code === -32001 && fields.status === 429
        ? QuotaExceededError
        : (KINDS[fields.code] ?? ApflowRpcError);
  return new Kind(fields);
}
