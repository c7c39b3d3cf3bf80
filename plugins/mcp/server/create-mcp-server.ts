import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  ElicitResultSchema,
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { describeSchemaErrors, isApflowError, version, type PluginApp } from 'apflow';
import { Compile } from 'typebox/compile';
import { FailedAnswer, ToolFailure, type McpCaller } from './caller.ts';
import type { Elicit } from './elicit-input.ts';
import { listResources, readResource, resourceTemplates } from './resources.ts';
import { createResourceSubscriptions } from './resource-subscriptions.ts';
import { toolSchemas, type ToolName } from './tool-schemas.ts';
import { tools } from './tools.ts';

/** What a request handler gets from the SDK. */
export type HandlerExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const validators = Object.fromEntries(Object.entries(toolSchemas).map(([name, schema]) => [name, Compile(schema)]));
const toolList = Object.entries(tools).map(([name, tool]) => ({
  name,
  title: tool.title,
  description: tool.description,
  inputSchema: toolSchemas[name as ToolName] as unknown as { type: 'object' },
  annotations: { title: tool.title, ...tool.annotations },
}));

/** The answer of a tool: its value as JSON text, and as structured content when it is an object. */
function toolResult(answer: unknown) {
  const value = answer instanceof FailedAnswer ? answer.value : answer;
  const structured =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  return {
    content: [{ type: 'text' as const, text: JSON.stringify(value, null, 2) }],
    ...(structured ? { structuredContent: structured } : {}),
    ...(answer instanceof FailedAnswer ? { isError: true } : {}),
  };
}

/** A failure the model can act on, in the server's own words (an internal error never shows its details). */
function toolError(error: unknown, caller: McpCaller) {
  let message: string;
  if (error instanceof ToolFailure || (isApflowError(error) && error.code !== 'APF_INTERNAL'))
    message = (error as Error).message;
  else {
    caller.log.error({ err: error }, 'an MCP tool failed');
    message = `Internal error (request ${caller.request.id})`;
  }
  // What a refusal says beyond its message (a spent budget's reason and reset time) goes as structured content.
  const refusal = isApflowError(error) && error.code !== 'APF_INTERNAL' && error.data !== undefined ? error : null;
  return {
    content: [{ type: 'text' as const, text: message }],
    ...(refusal ? { structuredContent: { error: { code: refusal.code, message, data: refusal.data } } } : {}),
    isError: true,
  };
}

/** A resource failure as a JSON-RPC error. */
function resourceError(error: unknown, caller: McpCaller): McpError {
  if (error instanceof ToolFailure)
    return new McpError(
      error.rpcCode === -32602
        ? ErrorCode.InvalidParams
        : error.rpcCode === -32004 || error.rpcCode === -32002
          ? -32002
          : ErrorCode.InvalidRequest,
      error.message,
    );
  caller.log.error({ err: error }, 'an MCP resource read failed');
  return new McpError(ErrorCode.InternalError, `Internal error (request ${caller.request.id})`);
}

/**
 * One MCP server (one per session): apflow's tools and resources over whichever transport it is
 * connected to. `callerOf` says who sent each request (HTTP checks it per request).
 * `serverClosing` is true while this server shuts down or reloads: the SDK then aborts every
 * request in flight, which must not cancel their trees (they belong to the engine and go on).
 */
export function createMcpServer(
  app: PluginApp,
  callerOf: (extra: HandlerExtra) => McpCaller,
  serverClosing: () => boolean = () => false,
): Server {
  const server = new Server(
    { name: 'apflow', title: 'apflow task trees', version },
    {
      capabilities: { tools: {}, resources: { subscribe: true } },
      instructions:
        'apflow stores and runs trees of tasks. Create and run a tree with execute_task (or create_task, then execute_task with its task_id); each task names an executor in schemas.method (see list_executors). Read results with get_task / get_task_tree or the task://{task_id} resource.',
    },
  );
  const subscriptions = createResourceSubscriptions(app, server);
  server.onclose = () => subscriptions.close();

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: toolList }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name;
    const tool = Object.hasOwn(tools, name) ? tools[name as ToolName] : undefined;
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool '${name}' (see tools/list)`);
    const caller = callerOf(extra);
    const args = request.params.arguments ?? {};
    const validator = validators[name];
    if (validator && !validator.Check(args)) {
      return toolError(
        new ToolFailure(`Invalid arguments for ${name}:\n${describeSchemaErrors(validator.Errors(args), 'arguments')}`),
        caller,
      );
    }
    const token = request.params._meta?.progressToken;
    const progress =
      token === undefined
        ? undefined
        : (value: number, total: number | undefined, message: string) =>
            void extra
              .sendNotification({
                method: 'notifications/progress',
                params: { progressToken: token, progress: value, ...(total === undefined ? {} : { total }), message },
              })
              .catch(() => undefined);
    // On the call's own stream (relatedRequestId): with Streamable HTTP, the client answers on a new POST of the session.
    const elicit: Elicit | undefined = server.getClientCapabilities()?.elicitation?.form
      ? (params, options) =>
          extra.sendRequest({ method: 'elicitation/create', params }, ElicitResultSchema, {
            signal: options.signal,
            timeout: options.timeoutMs,
          })
      : undefined;
    // A cancel from the client (or the client going away) stops the call; a server closing does not.
    const cancelled = new AbortController();
    const onAbort = () => serverClosing() || cancelled.abort(extra.signal.reason);
    extra.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return toolResult(
        await tool.call(app, args, caller, {
          signal: cancelled.signal,
          ...(progress ? { progress } : {}),
          ...(elicit ? { elicit } : {}),
        }),
      );
    } catch (error) {
      return toolError(error, caller);
    } finally {
      extra.signal.removeEventListener('abort', onAbort);
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, async (_request, extra) => {
    const caller = callerOf(extra);
    return {
      resources: await listResources(app, caller).catch((error: unknown) =>
        Promise.reject(resourceError(error, caller)),
      ),
    };
  });
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const caller = callerOf(extra);
    return readResource(app, request.params.uri, caller).catch((error: unknown) =>
      Promise.reject(resourceError(error, caller)),
    );
  });
  server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    const caller = callerOf(extra);
    await subscriptions
      .subscribe(request.params.uri, caller)
      .catch((error: unknown) => Promise.reject(resourceError(error, caller)));
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscriptions.unsubscribe(request.params.uri);
    return {};
  });
  return server;
}
