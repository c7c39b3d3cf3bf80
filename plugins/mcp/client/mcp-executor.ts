import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { defineExecutor, Type, type ExecutorContext } from 'apflow';
import { openConnection } from './open-connection.ts';
import { checkOperation, OPERATIONS, runOperation } from './operations.ts';
import { checkServerSpec, serverSpecFields, shownUrl, specSecrets } from './server-spec.ts';
import type { StdioGate } from './stdio-gate.ts';

const WHO = 'mcp_executor';

/** What the executor needs from the plugin: the stdio gate and the default timeout. */
export interface McpExecutorSettings {
  gate: StdioGate;
  timeoutS: number;
}

/** `mcp_executor`'s inputs: the server, the operation and its fields. */
export const McpExecutorInputs = Type.Object({
  ...serverSpecFields,
  operation: Type.Union(
    OPERATIONS.map((operation) => Type.Literal(operation)),
    { description: 'What to ask the server; list operations follow nextCursor and return every item' },
  ),
  tool_name: Type.Optional(Type.String({ minLength: 1, description: 'call_tool: the tool to call' })),
  arguments: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description: "call_tool: the tool's arguments; get_prompt: the prompt's arguments (strings)",
    }),
  ),
  resource_uri: Type.Optional(
    Type.String({ minLength: 1, description: 'read_resource: the URI of the resource to read' }),
  ),
  prompt_name: Type.Optional(Type.String({ minLength: 1, description: 'get_prompt: the prompt to get' })),
  timeout: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      description:
        'Seconds each step may take (starting and initializing, then each request); default mcp.client.timeout_s',
    }),
  ),
});

/** MCP progress (progress, total?, message?) as task progress 0..1 with a message. */
function progressReporter(ctx: ExecutorContext) {
  let last = 0;
  return ({ progress, total, message }: Progress) => {
    if (total !== undefined && total > 0) last = Math.min(1, Math.max(0, progress / total));
    ctx.progress(last, message ?? (total === undefined ? `progress ${progress}` : `${progress}/${total}`));
  };
}

/**
 * `mcp_executor`: connects to an MCP server (stdio: a program started for this task; http:
 * Streamable HTTP, else legacy HTTP+SSE), runs one operation and always closes the connection.
 * The result is `{success, operation, transport, result, text?}`; a tool error fails the task.
 */
export function createMcpExecutor(settings: McpExecutorSettings) {
  return defineExecutor({
    id: WHO,
    name: 'MCP call',
    description:
      'Calls an MCP server (stdio program or HTTP URL): list_tools, call_tool, list_resources, read_resource, list_prompts, get_prompt',
    inputSchema: McpExecutorInputs,
    // Headers carry bearer tokens and env carries API keys: stored sealed, scrubbed from results.
    secretInputs: ['headers', 'env'],
    async execute(inputs, ctx) {
      const spec = checkServerSpec(inputs, WHO);
      const request = checkOperation(inputs, WHO);
      const timeoutS = inputs.timeout ?? settings.timeoutS;
      const target = spec.transport === 'http' ? shownUrl(spec.url) : spec.command[0];
      ctx.log.debug({ transport: spec.transport, target, operation: request.operation }, 'mcp_executor: connecting');
      const connection = await openConnection(spec, {
        who: WHO,
        gate: settings.gate,
        outbound: ctx.outbound,
        signal: ctx.signal,
        timeoutS,
      });
      try {
        const { result, text } = await runOperation(connection, request, {
          who: WHO,
          secrets: specSecrets(spec),
          onprogress: progressReporter(ctx),
        });
        return {
          success: true,
          operation: request.operation,
          transport: connection.transport,
          result,
          ...(text === undefined ? {} : { text }),
        };
      } finally {
        await connection.close();
      }
    },
  });
}
