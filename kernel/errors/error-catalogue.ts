/**
 * Every error apflow can report, in one table. `rpc` is the JSON-RPC code put on the wire,
 * `status` the HTTP status for REST routes and for the transport-level errors that keep it on
 * JSON-RPC routes too (see `http/error-mapping.ts`). The "Error codes" table in docs/api.md lists the
 * same entries; a test keeps the two in step.
 */
export const errorCatalogue = {
  APF_PARSE_ERROR: { rpc: -32700, status: 400, message: 'Parse error: the body is not valid JSON' },
  APF_INVALID_REQUEST: { rpc: -32600, status: 400, message: 'Invalid request' },
  APF_METHOD_NOT_FOUND: { rpc: -32601, status: 404, message: 'Method not found' },
  APF_INVALID_PARAMS: { rpc: -32602, status: 400, message: 'Invalid params' },
  APF_INTERNAL: { rpc: -32603, status: 500, message: 'Internal error' },
  APF_UNAUTHENTICATED: { rpc: -32001, status: 401, message: 'Unauthorized' },
  APF_FORBIDDEN: { rpc: -32003, status: 403, message: 'Forbidden' },
  APF_NOT_FOUND: { rpc: -32004, status: 404, message: 'Not found' },
  APF_CONFLICT: { rpc: -32005, status: 409, message: 'Conflict with the current state' },
  APF_RATE_LIMITED: { rpc: -32029, status: 429, message: 'Too many requests' },
  APF_QUOTA_EXCEEDED: { rpc: -32001, status: 429, message: 'Quota exceeded' },
  APF_BODY_TOO_LARGE: { rpc: -32600, status: 413, message: 'Request body too large' },
  APF_UNSUPPORTED_MEDIA_TYPE: { rpc: -32600, status: 415, message: 'Unsupported media type: send JSON' },
  APF_ROUTE_NOT_FOUND: { rpc: -32601, status: 404, message: 'Route not found' },
  APF_UNAVAILABLE: { rpc: -32603, status: 503, message: 'Service unavailable' },
  APF_CONFIG_NOT_FOUND: { rpc: -32603, status: 500, message: 'Config file not found' },
  APF_CONFIG_INVALID: { rpc: -32603, status: 500, message: 'Invalid configuration' },
  APF_PLUGIN_LOAD_FAILED: { rpc: -32603, status: 500, message: 'Plugin failed to load' },
  APF_EXECUTOR_INVALID: { rpc: -32603, status: 500, message: 'Invalid executor' },
  APF_DATABASE_UNREACHABLE: { rpc: -32603, status: 503, message: 'Database unreachable' },
  APF_PORT_IN_USE: { rpc: -32603, status: 500, message: 'Port already in use' },
} as const satisfies Record<string, ErrorEntry>;

/** One catalogue entry. */
export interface ErrorEntry {
  /** JSON-RPC error code. */
  readonly rpc: number;
  /** HTTP status on REST routes (and on JSON-RPC routes for 401, 413, 415, 429 and 503). */
  readonly status: number;
  /** Default message, used when the thrower gives none. */
  readonly message: string;
}

/** A code from the catalogue, such as `APF_NOT_FOUND`. */
export type ErrorCode = keyof typeof errorCatalogue;
