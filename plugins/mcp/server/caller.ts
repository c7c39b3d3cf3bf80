import type { Logger, PluginApp, Principal, RequestContext, RpcResponse } from 'apflow';

/** Who calls an MCP tool or reads a resource: checked per HTTP request, fixed for a stdio session. */
export interface McpCaller {
  principal: Principal | undefined;
  request: RequestContext;
  log: Logger;
}

/**
 * A failure the client should see as a tool error (`isError: true`) or, for resources, as a
 * JSON-RPC error: the message is the server's own words, never a stack.
 */
export class ToolFailure extends Error {
  constructor(
    message: string,
    /** The JSON-RPC error code the tasks API answered (-32004 not found…), when it came from there. */
    readonly rpcCode?: number,
  ) {
    super(message);
  }
}

/**
 * Calls a method of the tasks API with the caller's identity, so every rule of `POST /tasks`
 * (the access rule, tree checks, user stamping, limits) applies to MCP calls too.
 */
export async function callTasks(app: PluginApp, method: string, params: Record<string, unknown>, caller: McpCaller): Promise<unknown> {
  if (!app.rpc.has('/tasks', method)) throw new ToolFailure(`${method} is not available: the tasks-api plugin is disabled on this server`);
  const outcome = await app.rpc.dispatch('/tasks', { jsonrpc: '2.0', id: 1, method, params }, { request: caller.request, principal: caller.principal, log: caller.log });
  const response = outcome.body as RpcResponse;
  if ('result' in response) return response.result;
  const data = response.error.data;
  const detail = typeof data === 'string' && !response.error.message.includes(data) ? `: ${data}` : '';
  // The tasks API names params as `params.x`; over MCP they are the tool's arguments.
  const message = `${response.error.message}${detail}`.replace(/\bparams\./g, 'arguments.');
  throw new ToolFailure(message, response.error.code);
}

/**
 * A tool's answer that is still a failure (a tree that ran and failed, or was cancelled): the
 * client sees `isError: true` with the whole answer, so a model learns what failed and where.
 */
export class FailedAnswer {
  constructor(readonly value: Record<string, unknown>) {}
}
