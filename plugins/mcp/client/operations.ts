import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ContentBlock, Progress } from '@modelcontextprotocol/sdk/types.js';
import { ApflowError, isRecord } from 'apflow';
import type { McpConnection } from './mcp-connection.ts';
import { safeText } from './safe-text.ts';

/** What `mcp_executor` can ask a server. */
export const OPERATIONS = [
  'list_tools',
  'call_tool',
  'list_resources',
  'read_resource',
  'list_prompts',
  'get_prompt',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** One operation with the fields it needs (checked by {@link checkOperation}). */
export type OperationRequest =
  | { operation: 'list_tools' | 'list_resources' | 'list_prompts' }
  | { operation: 'call_tool'; tool_name: string; arguments: Record<string, unknown> }
  | { operation: 'read_resource'; resource_uri: string }
  | { operation: 'get_prompt'; prompt_name: string; arguments: Record<string, string> };

/** Most pages a list operation follows (`nextCursor`) before giving up on a server that never ends. */
const MAX_PAGES = 100;

/** Checks the operation fields of `inputs`; errors are APF_INVALID_PARAMS naming the field. */
export function checkOperation(inputs: Record<string, unknown>, who: string): OperationRequest {
  const bad = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message: `${who}: ${message}` });
  const { operation } = inputs;
  const need = (field: string) => {
    const value = inputs[field];
    if (typeof value !== 'string' || value === '')
      throw bad(`${field} is required for operation '${String(operation)}'`);
    return value;
  };
  const args = inputs.arguments ?? {};
  if (!isRecord(args)) throw bad('arguments must be an object');
  switch (operation) {
    case 'list_tools':
    case 'list_resources':
    case 'list_prompts':
      return { operation };
    case 'call_tool':
      return { operation, tool_name: need('tool_name'), arguments: args };
    case 'read_resource':
      return { operation, resource_uri: need('resource_uri') };
    case 'get_prompt': {
      const prompt_name = need('prompt_name');
      const wrong = Object.entries(args).find(([, value]) => typeof value !== 'string');
      if (wrong) throw bad(`arguments.${wrong[0]} must be a string (prompt arguments are strings)`);
      return { operation, prompt_name, arguments: args as Record<string, string> };
    }
    default:
      throw bad(`operation must be one of ${OPERATIONS.join(', ')}`);
  }
}

/** Text blocks of MCP content, joined by newlines. */
export const joinText = (blocks: readonly ContentBlock[]) =>
  blocks.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('\n');

/** Throws, with the tool's own message, when a tool result says `isError`. */
export function throwIfToolError(result: CallToolResult, tool: string, who: string, secrets: readonly string[]): void {
  if (!result.isError) return;
  const message = safeText(joinText(result.content ?? []), secrets) || 'no message';
  throw new ApflowError('APF_INTERNAL', { message: `${who}: tool '${tool}' failed: ${message}` });
}

type Page = { nextCursor?: string } & Record<string, unknown>;

/** Every item of a paginated list (`key`: tools, resources, prompts), following `nextCursor`. */
export async function listAll(
  connection: McpConnection,
  method: string,
  key: string,
  page: (params: { cursor: string } | undefined, options: RequestOptions) => Promise<Page>,
  who: string,
) {
  const items: unknown[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let pages = 0; ; pages++) {
    if (pages === MAX_PAGES)
      throw new ApflowError('APF_UNAVAILABLE', { message: `${who}: ${method} has more than ${MAX_PAGES} pages` });
    const answer = await connection.request(method, (options) =>
      page(cursor === undefined ? undefined : { cursor }, options),
    );
    items.push(...((answer[key] as unknown[] | undefined) ?? []));
    // A cursor seen before would loop forever: the list ends there.
    if (!answer.nextCursor || seen.has(answer.nextCursor)) return { [key]: items };
    seen.add(answer.nextCursor);
    cursor = answer.nextCursor;
  }
}

/** The result of one operation (the MCP result, list pages merged) and its text, if it has one. */
export async function runOperation(
  connection: McpConnection,
  request: OperationRequest,
  context: { who: string; secrets: readonly string[]; onprogress?: (progress: Progress) => void },
): Promise<{ result: unknown; text?: string }> {
  const { client } = connection;
  const { who, onprogress } = context;
  switch (request.operation) {
    case 'list_tools':
      return {
        result: await listAll(
          connection,
          'tools/list',
          'tools',
          (params, options) => client.listTools(params, options),
          who,
        ),
      };
    case 'list_resources':
      return {
        result: await listAll(
          connection,
          'resources/list',
          'resources',
          (params, options) => client.listResources(params, options),
          who,
        ),
      };
    case 'list_prompts':
      return {
        result: await listAll(
          connection,
          'prompts/list',
          'prompts',
          (params, options) => client.listPrompts(params, options),
          who,
        ),
      };
    case 'call_tool': {
      const params = { name: request.tool_name, arguments: request.arguments };
      const result = (await connection.request('tools/call', (options) => client.callTool(params, undefined, options), {
        onprogress,
      })) as CallToolResult;
      throwIfToolError(result, request.tool_name, who, context.secrets);
      return { result, text: joinText(result.content ?? []) };
    }
    case 'read_resource': {
      const result = await connection.request(
        'resources/read',
        (options) => client.readResource({ uri: request.resource_uri }, options),
        { onprogress },
      );
      const text = result.contents
        .flatMap((content) => ('text' in content && typeof content.text === 'string' ? [content.text] : []))
        .join('\n');
      return { result, text };
    }
    case 'get_prompt': {
      const params = { name: request.prompt_name, arguments: request.arguments };
      const result = await connection.request('prompts/get', (options) => client.getPrompt(params, options), {
        onprogress,
      });
      return { result, text: joinText(result.messages.map((message) => message.content)) };
    }
  }
}
