import { definePlugin, version } from 'apflow';
import { registerMcpClient } from './client/index.ts';
import { httpCallerOf } from './server/caller-of.ts';
import { createHttpSessions, sweepMs } from './server/http-sessions.ts';
import { loadMcpSdk } from './server/load-sdk.ts';
import { createOwnerListener } from './server/owner-listener.ts';
import { createSessionRegistry } from './server/session-registry.ts';
import { registerMcpRoute } from './server/mcp-route.ts';
import { registerProtectedResource } from './server/protected-resource.ts';
import type { StdioOptions } from './server/stdio-session.ts';
import { migrations } from './migrations.ts';
import { Settings } from './settings.ts';

/** What the mcp plugin offers the `apflow mcp` command. */
export interface McpService {
  /** Serves one MCP session on standard input and output; resolves when the client ends it. */
  serveStdio(options?: StdioOptions): Promise<void>;
}

declare module 'apflow' {
  interface KernelServices {
    mcp: McpService;
  }
}

/**
 * The Model Context Protocol both ways: apflow as an MCP server (Streamable HTTP on `/mcp`, and
 * stdio through `apflow mcp`), and `mcp_executor`, which calls any MCP server from a task.
 */
export default definePlugin({
  name: 'mcp',
  version,
  config: { key: 'mcp', schema: Settings },
  migrations,
  setup(app) {
    const settings = app.settings;
    // A record not refreshed for five sweeps belongs to a process that is gone.
    const homes = {
      registry: createSessionRegistry(app, 5 * sweepMs(settings.server)),
      listener: createOwnerListener(app),
    };
    const sessions = createHttpSessions(app, settings.server, homes, async (closing) =>
      (await loadMcpSdk()).createMcpServer(app, httpCallerOf(app), closing),
    );
    registerMcpRoute(app, sessions, homes);
    registerProtectedResource(app, settings.server.authorization_servers);
    // Open GET streams would hold a shutdown or reload up: end them, clients re-initialize.
    app.onClosing(() => void sessions.closeAll());
    app.onDispose(() => sessions.closeAll());
    app.provide('mcp', {
      // The SDK's stdio side loads with the `apflow mcp` command only.
      serveStdio: async (options) => (await import('./server/stdio-session.ts')).serveStdio(app, options),
    });
    registerMcpClient(app, settings.client);
  },
});
