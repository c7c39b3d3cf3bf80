import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PluginApp } from 'apflow';
import { MCP_PATH } from './protected-resource.ts';

/** Marks a request handed over by another process: it is never handed on again. */
export const HOP_HEADER = 'x-apflow-mcp-hop';

/**
 * A loopback listener of this process for MCP requests that other workers hand over (the
 * session lives here). It answers `/mcp` only, through this generation's own Fastify app, so the
 * request goes through the same hooks (authentication included) as on the public port. Started
 * on first use; its URL is what `mcp_sessions` records as the owner.
 */
export function createOwnerListener(app: PluginApp) {
  let server: Server | undefined;
  let url: Promise<string> | undefined;
  return {
    url(): Promise<string> {
      url ??= new Promise<string>((resolve, reject) => {
        server = createServer((req, res) => {
          if (req.url?.split('?')[0] !== MCP_PATH || req.headers[HOP_HEADER] === undefined) {
            res
              .writeHead(404, { 'content-type': 'application/json' })
              .end('{"error":{"code":"APF_ROUTE_NOT_FOUND","message":"not found"}}');
            return;
          }
          app.http.routing(req, res);
        });
        server.once('error', reject);
        // Exclusive: a cluster worker's port 0 would otherwise be one port shared by every worker.
        server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () =>
          resolve(`http://127.0.0.1:${(server?.address() as AddressInfo).port}`),
        );
      });
      return url;
    },
    /** The URL if the listener was started. */
    async current(): Promise<string | undefined> {
      return url;
    },
    close(): Promise<void> {
      return new Promise((resolve) => {
        if (!server) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

/** This process's loopback listener for handed-over MCP requests. */
export type OwnerListener = ReturnType<typeof createOwnerListener>;
