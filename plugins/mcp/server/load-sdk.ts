import { loadOnce } from 'apflow';

/**
 * The MCP server side of the SDK (and zod under it), loaded at the first `/mcp` request: it is
 * about 500 KB of JavaScript a server that nobody asks over MCP would otherwise read at start.
 */
export const loadMcpSdk = loadOnce(() => import('./mcp-sdk.ts'));
