import type { JSONSchema7, ToolSet } from 'ai';
import { ApflowError, type ExecutorContext, isRecord } from 'apflow';
import { loadAi } from './ai-sdk.ts';

/**
 * An agent's MCP server, as written in its `tools`: `{mcp: {transport: 'http', url, headers?}}` or
 * `{mcp: {transport: 'stdio', command, env?, cwd?}}`, plus optional `tools` (names to offer; default
 * all), `prefix` (put before each tool name) and `timeout` (seconds per request).
 */
export interface McpToolEntry {
  mcp: Record<string, unknown>;
}

/** A session with one MCP server, as the mcp plugin's `mcp-client` service opens it. */
export interface McpSessionLike {
  readonly tools: readonly { name: string; description?: string; inputSchema: Record<string, unknown> }[];
  call(
    name: string,
    args: Record<string, unknown>,
    options?: { signal?: AbortSignal },
  ): Promise<{ text: string; result: { content?: unknown; structuredContent?: unknown } }>;
  close(): Promise<void>;
}

/**
 * The mcp plugin's `app.service('mcp-client')`, declared here by its shape: this package depends
 * on `apflow` only, and the service may be absent (the plugin disabled).
 */
export interface McpClientLike {
  connect(
    spec: unknown,
    options: { signal: AbortSignal; outbound?: ExecutorContext['outbound']; timeout_s?: number; who?: string },
  ): Promise<McpSessionLike>;
}

/** Whether an item of an agent's `tools` is an MCP server entry. */
export const isMcpEntry = (value: unknown): value is McpToolEntry => isRecord(value) && isRecord(value.mcp);

/** A tool name providers accept (`^[A-Za-z0-9_-]{1,64}$`). */
const toolName = (name: string) => name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);

/**
 * Connects to each MCP server of an agent and offers its tools as AI SDK tools that call the
 * server (with the crew task's outbound policy and abort signal). Every session opened is pushed
 * to `sessions`, even when a later one fails: the caller closes them all when the crew ends.
 */
export async function mcpTools(
  entries: readonly McpToolEntry[],
  agent: string,
  client: McpClientLike | undefined,
  ctx: ExecutorContext,
  sessions: McpSessionLike[],
): Promise<ToolSet> {
  if (!client) {
    throw new ApflowError('APF_UNAVAILABLE', {
      message: `Agent '${agent}' has MCP tools, but the mcp plugin is not loaded (take 'mcp' out of disabled_plugins)`,
    });
  }
  const { dynamicTool, jsonSchema } = await loadAi();
  const tools: ToolSet = {};
  for (const { mcp } of entries) {
    const { tools: only, prefix, timeout, ...spec } = mcp;
    const who = `agent '${agent}' MCP tools`;
    const session = await client.connect(spec, {
      signal: ctx.signal,
      outbound: ctx.outbound,
      who,
      ...(typeof timeout === 'number' ? { timeout_s: timeout } : {}),
    });
    sessions.push(session);
    const wanted = Array.isArray(only) ? new Set(only.map(String)) : undefined;
    for (const offered of session.tools) {
      if (wanted && !wanted.has(offered.name)) continue;
      const name = toolName(`${typeof prefix === 'string' ? prefix : ''}${offered.name}`);
      if (name in tools)
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: `Agent '${agent}' has two tools named '${name}': give an MCP server a prefix`,
        });
      tools[name] = dynamicTool({
        description: offered.description ?? offered.name,
        // MCP tools describe their input with JSON Schema (the protocol's own rule).
        inputSchema: jsonSchema(offered.inputSchema as JSONSchema7),
        execute: async (input, options) => {
          const { text, result } = await session.call(offered.name, isRecord(input) ? input : {}, {
            signal: options.abortSignal,
          });
          return text !== '' ? text : (result.structuredContent ?? result.content ?? null);
        },
      });
    }
    const missing = [...(wanted ?? [])].filter((name) => !session.tools.some((tool) => tool.name === name));
    if (missing.length)
      throw new ApflowError('APF_INVALID_PARAMS', {
        message: `Agent '${agent}': the MCP server has no tool ${missing.map((name) => `'${name}'`).join(', ')}`,
      });
  }
  return tools;
}
