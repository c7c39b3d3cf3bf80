import { ApflowError } from '../errors/apflow-error.ts';
import { normaliseId, toRpcResponse } from '../http/error-mapping.ts';
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
  for (const entry of body)
    outcomes.push((await callOne(registry, entry, { ...ctx, batch: true })).body as RpcResponse);
  return { status: 200, body: outcomes };
}

async function callOne(registry: RpcRegistry, entry: unknown, ctx: CallContext): Promise<DispatchOutcome> {
  const envelope =
    typeof entry === 'object' && entry !== null && !Array.isArray(entry)
      ? (entry as Record<string, unknown>)
      : undefined;
  const id = normaliseId(envelope?.id);
  const problem = envelopeProblem(envelope);
  if (problem) return fail(new ApflowError('APF_INVALID_REQUEST', { message: `Invalid request: ${problem}` }), id, ctx);
  const name = (envelope as { method: string }).method;
  // Checked before any handler, fallbacks included (A2A parses params with recursive code).
  if (nestsDeeperThan(envelope?.params, MAX_PARAMS_DEPTH)) {
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
      const response = await fallback(envelope as Record<string, unknown>, { ...ctx, id, method: name });
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
    const result = await invoke(method, envelope?.params ?? {}, { ...ctx, id, method: name });
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

function envelopeProblem(envelope: Record<string, unknown> | undefined): string | null {
  if (!envelope) return 'a call must be a JSON object';
  if (envelope.jsonrpc !== '2.0') return '\'jsonrpc\' must be "2.0"';
  if (typeof envelope.method !== 'string' || envelope.method === '') return "'method' must be a non-empty string";
  const id = envelope.id;
  if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number') {
    return "'id' must be a string, a number or null";
  }
  return null;
}

function fail(error: unknown, id: string | number | null, ctx: CallContext, method?: string): DispatchOutcome {
  const response = toRpcResponse(error, id, ctx.request.id);
  if (response.error.code === 'APF_INTERNAL') {
    ctx.log.error({ err: response.error.cause ?? error, method, endpoint: ctx.endpoint }, 'JSON-RPC method failed');
  }
  return { status: response.status, body: response.body };
}
