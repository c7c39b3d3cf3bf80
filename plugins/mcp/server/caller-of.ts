import type { PluginApp, RequestContext } from 'apflow';
import type { McpCaller } from './caller.ts';
import type { HandlerExtra } from './create-mcp-server.ts';
import { CONTEXT_KEY } from './mcp-route.ts';

/**
 * The caller of one HTTP request, as the kernel's hooks checked it for that very request
 * (sessions never authenticate: every request carries its own token).
 */
export function httpCallerOf(app: PluginApp) {
  return (extra: HandlerExtra): McpCaller => {
    const request = extra.authInfo?.extra?.[CONTEXT_KEY] as RequestContext | undefined;
    if (!request) throw new Error('an MCP request without its apflow request context');
    return {
      principal: request.principal,
      request,
      log: app.log.child({ req_id: request.id, mcp_session: extra.sessionId }),
    };
  };
}
