import type { FastifyRequest, PluginApp } from 'apflow';

/** The MCP endpoint's path. */
export const MCP_PATH = '/mcp';
const METADATA_PATH = '/.well-known/oauth-protected-resource';

/** The server's own origin as the client reached it (`http://host:port`). */
export const originOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

/**
 * The `WWW-Authenticate` challenge of a 401 from `/mcp`: MCP clients find the endpoint's
 * protected-resource metadata (RFC 9728) through `resource_metadata`.
 */
export const mcpChallenge = (request: FastifyRequest) =>
  `Bearer resource_metadata="${originOf(request)}${METADATA_PATH}${MCP_PATH}"`;

/**
 * Serves the protected-resource metadata of `/mcp` (RFC 9728), at its path-specific address and
 * at the root one: the resource, the authorization servers that issue its tokens
 * (`mcp.server.authorization_servers`), and that tokens go in the `Authorization` header.
 */
export function registerProtectedResource(app: PluginApp, authorizationServers: readonly string[]): void {
  const metadata = async (request: FastifyRequest) => ({
    resource: `${originOf(request)}${MCP_PATH}`,
    resource_name: 'apflow MCP server',
    authorization_servers: authorizationServers,
    bearer_methods_supported: ['header'],
  });
  app.http.get(`${METADATA_PATH}${MCP_PATH}`, metadata);
  app.http.get(METADATA_PATH, metadata);
}
