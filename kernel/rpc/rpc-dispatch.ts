import { ApflowError } from '../errors/apflow-error.ts';
import { normaliseId, toRpcResponse } from '../http/error-mapping.ts';
import { isRecord } from '../internal/is-record.ts';
import { MAX_PARAMS_DEPTH, nestsDeeperThan } from './json-depth.ts';
import type { RegisteredRpcMethod, RpcContext, RpcRegistry } from './rpc-registry.ts';

/** The most calls one batch may carry. */
export const MAX_BATCH = 1000;

/** A JSON-RPC response object. */
export type RpcResponse =
  | { jsonrpc: '2.0'; id: string | number | null; result: unknown }
  | { jsonrpc: '2.0'; id: string | number | null; error: { code: number; message: string; data?: unknown } };

/** Outcome of a dispatch: the body to send and the HTTP status it wants. */
export interface DispatchOutcome {
  status: number;
  body: RpcResponse | RpcResponse[];
}

type CallContext = Omit<RpcContext, 'id' | 'method'>;

/** The outcome of one call: never a batch's array. */
interface CallOutcome extends DispatchOutcome {
  body: RpcResponse;
}

/**
 * Answers a parsed JSON-RPC body (one call or a batch) on `endpoint`. Shared by the HTTP
 * routes and the WebSocket, so both speak the same envelope and errors.
 */
export async function dispatchRpc(registry: RpcRegistry, body: unknown, ctx: CallContext): Promise<DispatchOutcome> {
  if (!Array.isArray(body)) return callOne(registry, body, ctx);
  if (body.length === 0)
    return fail(new ApflowError('APF_INVALID_REQUEST', { message: 'Invalid request: empty batch' }), null, ctx);
  if (body.length > MAX_BATCH) {
    return fail(
      new ApflowError('APF_INVALID_REQUEST', { message: `Invalid request: a batch holds at most ${MAX_BATCH} calls` }),
      null,
      ctx,
    );
  }
  // One after another: a batch that creates, then counts, sees its own writes.
  const outcomes: RpcResponse[] = [];
  for (const entry of body) outcomes.push((await callOne(registry, entry, { ...ctx, batch: true })).body);
  return { status: 200, body: outcomes };
}

async function callOne(registry: RpcRegistry, entry: unknown, ctx: CallContext): Promise<CallOutcome> {
  const envelope = isRecord(entry) ? entry : undefined;
  const id = normaliseId(envelope?.id);
  const checked = checkEnvelope(envelope);
  if ('problem' in checked) {
    return fail(new ApflowError('APF_INVALID_REQUEST', { message: `Invalid request: ${checked.problem}` }), id, ctx);
  }
  const { call, name } = checked;
  // Checked before any handler, fallbacks included (A2A parses params with recursive code).
  if (nestsDeeperThan(call.params, MAX_PARAMS_DEPTH)) {
    return fail(
      new ApflowError('APF_INVALID_PARAMS', {
        message: `Invalid params: params nest arrays and objects more than ${MAX_PARAMS_DEPTH} levels deep`,
      }),
      id,
      ctx,
      name,
    );
  }
  const method = registry.get(ctx.endpoint, name);
  const fallback = method ? undefined : registry.fallback(ctx.endpoint);
  if (fallback) {
    try {
      const response = await fallback(call, { ...ctx, id, method: name });
      return { status: 200, body: response ?? { jsonrpc: '2.0', id, result: null } };
    } catch (error) {
      return fail(error, id, ctx, name);
    }
  }
  if (!method) {
    return fail(
      new ApflowError('APF_METHOD_NOT_FOUND', {
        message: 'Method not found',
        data: `Unknown method on ${ctx.endpoint}: ${name}`,
      }),
      id,
      ctx,
    );
  }
  try {
    const result = await invoke(method, call.params ?? {}, { ...ctx, id, method: name });
    return { status: 200, body: { jsonrpc: '2.0', id, result: result === undefined ? null : result } };
  } catch (error) {
    return fail(error, id, ctx, name);
  }
}

/** Checks `rawParams` against the method's schema and runs its handler. */
async function invoke(method: RegisteredRpcMethod, rawParams: unknown, ctx: RpcContext): Promise<unknown> {
  if (typeof rawParams !== 'object' || rawParams === null) {
    throw new ApflowError('APF_INVALID_PARAMS', { message: 'Invalid params: params must be an object or an array' });
  }
  // The params passed the method's own schema (if it has one, else its handler takes them as they came).
  return method.definition.handler(method.check(rawParams) as never, ctx);
}

/**
 * Calls the method `name` of `endpoint` directly (another transport of the same methods: MCP,
 * A2A): the same params checks as over HTTP, and the result, or the method's own error thrown as
 * it was (an ApflowError with its code), instead of a JSON-RPC envelope to unwrap.
 */
export async function callRpc(
  registry: RpcRegistry,
  endpoint: string,
  name: string,
  params: unknown,
  ctx: Omit<CallContext, 'endpoint'>,
): Promise<unknown> {
  if (nestsDeeperThan(params, MAX_PARAMS_DEPTH)) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `Invalid params: params nest arrays and objects more than ${MAX_PARAMS_DEPTH} levels deep`,
    });
  }
  const method = registry.get(endpoint, name);
  if (!method) throw new ApflowError('APF_METHOD_NOT_FOUND', { message: `Method not found: ${name} on ${endpoint}` });
  const result = await invoke(method, params ?? {}, { ...ctx, endpoint, id: null, method: name });
  return result === undefined ? null : result;
}

/** The call and its method's name, or what is wrong with the envelope. */
function checkEnvelope(
  envelope: Record<string, unknown> | undefined,
): { call: Record<string, unknown>; name: string } | { problem: string } {
  if (!envelope) return { problem: 'a call must be a JSON object' };
  if (envelope.jsonrpc !== '2.0') return { problem: '\'jsonrpc\' must be "2.0"' };
  const name = envelope.method;
  if (typeof name !== 'string' || name === '') return { problem: "'method' must be a non-empty string" };
  const id = envelope.id;
  if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number') {
    return { problem: "'id' must be a string, a number or null" };
  }
  return { call: envelope, name };
}

function fail(error: unknown, id: string | number | null, ctx: CallContext, method?: string): CallOutcome {
  const response = toRpcResponse(error, id, ctx.request.id);
  if (response.error.code === 'APF_INTERNAL') {
    ctx.log.error({ err: response.error.cause ?? error, method, endpoint: ctx.endpoint }, 'JSON-RPC method failed');
  }
  return { status: response.status, body: response.body };
}
