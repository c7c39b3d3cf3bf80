import type { PluginApp } from 'apflow';
import type { McpClientSettings } from '../settings.ts';
import { createMcpExecutor } from './mcp-executor.ts';
import { createMcpClientService, type McpClientService } from './mcp-service.ts';
import { resolveStdioGate } from './stdio-gate.ts';

export type { McpClientService, McpConnectOptions, McpToolInfo, McpToolSession } from './mcp-service.ts';

declare module 'apflow' {
  interface KernelServices {
    'mcp-client': McpClientService;
  }
}

/**
 * The client side of MCP: registers `mcp_executor` and provides `app.service('mcp-client')`
 * (MCP tools for crew agents), both under the stdio gate (`mcp.client.stdio`, env
 * APFLOW_MCP_STDIO_ENABLED / APFLOW_MCP_STDIO_ALLOW) and the app's outbound policy.
 */
export function registerMcpClient(app: PluginApp, settings: McpClientSettings): void {
  const gate = resolveStdioGate(settings);
  app.executors.register(createMcpExecutor({ gate, timeoutS: settings.timeout_s }));
  app.provide('mcp-client', createMcpClientService({ gate, timeoutS: settings.timeout_s, outbound: app.outbound }));
}
