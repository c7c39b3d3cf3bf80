import { loadOnce } from 'apflow';
import type { ConnectOptions, McpConnection } from './mcp-connection.ts';
import type { ServerSpec } from './server-spec.ts';

// The SDK's client (with zod) loads with the first connection of each transport, not at start.
const stdio = loadOnce(() => import('./stdio-connection.ts'));
const http = loadOnce(() => import('./http-connection.ts'));

/**
 * Opens an initialized MCP session with the server `spec` describes: stdio (gated by
 * `mcp.client.stdio`) or HTTP (through the outbound policy). The caller must `close()` it.
 */
export async function openConnection(spec: ServerSpec, options: ConnectOptions): Promise<McpConnection> {
  return spec.transport === 'stdio' ? (await stdio()).openStdio(spec, options) : (await http()).openHttp(spec, options);
}
