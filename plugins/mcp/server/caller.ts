import {
  errorCatalogue,
  isApflowError,
  type Logger,
  type PluginApp,
  type Principal,
  type RequestContext,
} from 'apflow';

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
 * (the access rule, tree checks, user stamping, limits) applies to MCP calls too. Its refusals
 * become {@link ToolFailure}s in its own words; an internal error is thrown as it is.
 */
export async function callTasks(
  app: PluginApp,
  method: string,
  params: Record<string, unknown>,
  caller: McpCaller,
): Promise<unknown> {
  if (!app.rpc.has('/tasks', method))
    throw new ToolFailure(`${method} is not available: the tasks-api plugin is disabled on this server`);
  try {
    return await app.rpc.call('/tasks', method, params, {
      request: caller.request,
      principal: caller.principal,
      log: caller.log,
    });
  } catch (error) {
    if (!isApflowError(error) || error.code === 'APF_INTERNAL') throw error;
    const detail = typeof error.data === 'string' && !error.message.includes(error.data) ? `: ${error.data}` : '';
    // The tasks API names params as `params.x`; over MCP they are the tool's arguments.
    throw new ToolFailure(
      `${error.message}${detail}`.replace(/\bparams\./g, 'arguments.'),
      errorCatalogue[error.code].rpc,
    );
  }
}

/**
 * A tool's answer that is still a failure (a tree that ran and failed, or was cancelled): the
 * client sees `isError: true` with the whole answer, so a model learns what failed and where.
 */
export class FailedAnswer {
  constructor(readonly value: Record<string, unknown>) {}
}
