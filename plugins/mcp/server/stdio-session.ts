import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { PluginApp, Principal, RequestContext } from 'apflow';
import type { Readable, Writable } from 'node:stream';
import type { McpCaller } from './caller.ts';
import { createMcpServer } from './create-mcp-server.ts';

/** Who a stdio session acts as, and the streams it speaks on. */
export interface StdioOptions {
  /** The user the session acts as (`apflow mcp --user-id`): it sees and creates only that user's tasks. */
  userId?: string;
  /** Act as an administrator (with `userId`). */
  admin?: boolean;
  input?: Readable;
  output?: Writable;
}

/**
 * One MCP session on standard input and output (`apflow mcp`, for clients that start a
 * command): the same tools and resources as `/mcp`, on the configured database. Without a user
 * the session is the operator's, as the other commands are. Resolves when the client closes its
 * end (stdin ends) or the transport closes, after answers in flight were written.
 */
export async function serveStdio(app: PluginApp, options: StdioOptions = {}): Promise<void> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const principal: Principal | undefined = options.userId
    ? { user_id: options.userId, roles: options.admin ? ['admin'] : [] }
    : undefined;
  let n = 0;
  const callerOf = (): McpCaller => {
    const request: RequestContext = {
      id: `mcp-stdio.${(n += 1)}`,
      transport: 'stdio',
      method: 'mcp',
      url: 'stdio:',
      headers: {},
      ip: '127.0.0.1',
      state: {},
      principal,
    };
    return { principal, request, log: app.log.child({ req_id: request.id }) };
  };
  const server = createMcpServer(app, callerOf);
  const transport = new StdioServerTransport(input, output);
  const closed = new Promise<void>((resolve) => {
    server.onclose = ((previous) => () => {
      previous?.();
      resolve();
    })(server.onclose);
  });
  await server.connect(transport);
  // The SDK's stdio transport does not end on EOF (typescript-sdk #2002): end it here, once the
  // answers already being written are out.
  const onEnd = () => void drain(output).then(() => server.close());
  input.once('end', onEnd);
  input.once('close', onEnd);
  await closed;
}

function drain(output: Writable): Promise<void> {
  return new Promise((resolve) =>
    output.writableNeedDrain ? output.once('drain', () => resolve()) : setImmediate(resolve),
  );
}
