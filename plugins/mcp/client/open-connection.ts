import { openHttp } from './http-connection.ts';
import type { ConnectOptions, McpConnection } from './mcp-connection.ts';
import type { ServerSpec } from './server-spec.ts';
import { openStdio } from './stdio-connection.ts';

/**
 * Opens an initialized MCP session with the server `spec` describes: stdio (gated by
 * `mcp.client.stdio`) or HTTP (through the outbound policy). The caller must `close()` it.
 */
export function openConnection(spec: ServerSpec, options: ConnectOptions): Promise<McpConnection> {
  return spec.transport === 'stdio' ? openStdio(spec, options) : openHttp(spec, options);
}
