import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Outbound } from 'apflow';
import { openConnection } from './open-connection.ts';
import { joinText, listAll, throwIfToolError } from './operations.ts';
import { checkServerSpec, specSecrets } from './server-spec.ts';
import type { StdioGate } from './stdio-gate.ts';

/** A tool an MCP server offers, as listed by `tools/list`. */
export interface McpToolInfo {
  name: string;
  description?: string;
  /** JSON Schema of the tool's arguments. */
  inputSchema: Record<string, unknown>;
}

/** An open session with one server: its tools, a way to call them, and `close()` (always call it). */
export interface McpToolSession {
  readonly tools: McpToolInfo[];
  /** Calls a tool; resolves with its text (and the whole result), rejects on a tool error with its message. */
  call(
    name: string,
    args: Record<string, unknown>,
    options?: { signal?: AbortSignal },
  ): Promise<{ text: string; result: CallToolResult }>;
  close(): Promise<void>;
}

/** Options of {@link McpClientService.connect}. */
export interface McpConnectOptions {
  /** Aborts every request of the session (the task's signal). */
  signal: AbortSignal;
  /** The policy HTTP requests go through (the task's `ctx.outbound`); default the app's. */
  outbound?: Outbound;
  /** Seconds each request may take; default `mcp.client.timeout_s`. */
  timeout_s?: number;
  /** Who reports failures, e.g. `agent 'researcher'`; default `mcp`. */
  who?: string;
}

/**
 * What the mcp plugin offers other plugins as `app.service('mcp-client')` (the crewai extension
 * gives agents MCP tools with it): the same connections as `mcp_executor`, under the same stdio
 * gate and outbound policy.
 */
export interface McpClientService {
  /**
   * Checks `spec` (`{transport: 'stdio', command, env?, cwd?}` or `{transport: 'http', url,
   * headers?}`), connects, and lists the server's tools (every page).
   */
  connect(spec: unknown, options: McpConnectOptions): Promise<McpToolSession>;
}

/** The service, for one app's gate, default timeout and outbound policy. */
export function createMcpClientService(settings: {
  gate: StdioGate;
  timeoutS: number;
  outbound: Outbound;
}): McpClientService {
  return {
    async connect(raw, options) {
      const who = options.who ?? 'mcp';
      const spec = checkServerSpec(raw, who);
      const secrets = specSecrets(spec);
      const connection = await openConnection(spec, {
        who,
        gate: settings.gate,
        outbound: options.outbound ?? settings.outbound,
        signal: options.signal,
        timeoutS: options.timeout_s ?? settings.timeoutS,
      });
      let tools: McpToolInfo[];
      try {
        const listed = await listAll(
          connection,
          'tools/list',
          'tools',
          (params, request) => connection.client.listTools(params, request),
          who,
        );
        tools = (listed.tools as Tool[]).map(({ name, description, inputSchema }) => ({
          name,
          ...(description ? { description } : {}),
          inputSchema,
        }));
      } catch (error) {
        await connection.close();
        throw error;
      }
      return {
        tools,
        async call(name, args, callOptions = {}) {
          const result = (await connection.request(
            'tools/call',
            (request) => connection.client.callTool({ name, arguments: args }, undefined, request),
            {
              ...(callOptions.signal ? { signal: callOptions.signal } : {}),
            },
          )) as CallToolResult;
          throwIfToolError(result, name, who, secrets);
          return { text: joinText(result.content ?? []), result };
        },
        close: () => connection.close(),
      };
    },
  };
}
