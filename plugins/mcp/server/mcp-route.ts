import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isTrustedOrigin, type FastifyReply, type FastifyRequest, type PluginApp, type RequestContext } from 'apflow';
import { handOver } from './hand-over.ts';
import type { HttpSession, HttpSessions, SessionHomes } from './http-sessions.ts';
import { loadMcpSdk } from './load-sdk.ts';
import { HOP_HEADER } from './owner-listener.ts';
import { mcpChallenge, MCP_PATH } from './protected-resource.ts';

/** Where the request context of an MCP request travels to the tool handlers (`extra.authInfo.extra`). */
export const CONTEXT_KEY = 'apflowRequest';

/** A JSON-RPC error answered before the transport sees the request. */
function refuse(reply: FastifyReply, status: number, code: number, message: string) {
  return reply.code(status).send({ jsonrpc: '2.0', id: null, error: { code, message } });
}

/**
 * `POST /mcp` (messages), `GET /mcp` (the session's server stream, resumable with
 * `Last-Event-ID`) and `DELETE /mcp` (ends the session): the Streamable HTTP transport of MCP,
 * one session per `initialize`. The kernel's hooks authenticated the request already (a 401
 * names the protected-resource metadata); here a foreign browser `Origin` is refused (403), and
 * a session answers only the user who opened it — to anyone else it does not exist (404). A
 * request for a session another process of this host holds (another worker) is handed to it.
 */
export function registerMcpRoute(app: PluginApp, sessions: HttpSessions, homes: SessionHomes): void {
  const corsOrigins = app.config.server.cors_origins ?? [];
  app.http.route({
    method: ['GET', 'POST', 'DELETE'],
    url: MCP_PATH,
    config: { challenge: mcpChallenge, endpoint: 'mcp' },
    async handler(request, reply) {
      const origin = request.headers.origin;
      if (
        typeof origin === 'string' &&
        !isTrustedOrigin(origin, request.headers.host, corsOrigins, { wildcard: true })
      ) {
        return refuse(
          reply,
          403,
          -32000,
          `Forbidden: requests from the page origin ${origin} are not allowed (server.cors_origins)`,
        );
      }
      const context = request.apflow;
      const userId = context.principal?.user_id ?? null;
      const sessionId = request.headers['mcp-session-id'];
      let session: HttpSession | undefined;
      if (typeof sessionId === 'string') {
        session = sessions.get(sessionId);
        if (
          !session &&
          request.headers[HOP_HEADER] === undefined &&
          (await handedOver(sessionId, userId, request, reply, homes))
        )
          return reply;
        if (!session || session.userId !== userId)
          return refuse(reply, 404, -32001, 'Session not found: initialize a new one');
      } else if (request.method === 'POST' && (await loadMcpSdk()).isInitializeRequest(request.body)) {
        const limitKey = userId ?? `ip:${context.ip}`;
        const refusal = sessions.refusal(limitKey);
        if (refusal) return refuse(reply, refusal.status, -32000, refusal.message);
        session = await sessions.open(userId, limitKey);
      } else {
        return refuse(
          reply,
          400,
          -32000,
          'Bad Request: send Mcp-Session-Id (the id the initialize answer gave), or initialize first',
        );
      }
      await serve(session, request, reply, context, sessions);
      return reply;
    },
  });
}

/**
 * Hands the request to the process holding `sessionId` when it is another one of this host and the
 * session is the caller's; false when there is none (the caller answers 404). A process that is
 * gone loses its record.
 */
async function handedOver(
  sessionId: string,
  userId: string | null,
  request: FastifyRequest,
  reply: FastifyReply,
  homes: SessionHomes,
): Promise<boolean> {
  const home = await homes.registry.find(sessionId);
  if (
    !home ||
    home.userId !== userId ||
    home.host !== homes.registry.host ||
    home.ownerUrl === (await homes.listener.current())
  )
    return false;
  if (await handOver(home.ownerUrl, request, reply)) return true;
  await homes.registry.remove(sessionId);
  return false;
}

/** Hands the request to the session's transport, which answers it on the raw response. */
async function serve(
  session: HttpSession,
  request: FastifyRequest,
  reply: FastifyReply,
  context: RequestContext,
  sessions: HttpSessions,
): Promise<void> {
  const auth: AuthInfo = {
    // The token itself stays out of the SDK's reach: tools need the checked identity only.
    token: '',
    clientId: context.principal?.user_id ?? 'anonymous',
    scopes: context.principal?.roles ?? [],
    extra: { [CONTEXT_KEY]: context },
  };
  // Headers set so far (CORS, nosniff) would be lost with the hijack: hand them to the raw response.
  for (const [name, value] of Object.entries(reply.getHeaders()))
    if (value !== undefined) reply.raw.setHeader(name, value as string);
  reply.hijack();
  session.open += 1;
  session.lastSeen = Date.now();
  reply.raw.once('close', () => {
    session.open -= 1;
    session.lastSeen = Date.now();
    sessions.settle(session);
  });
  await session.transport.handleRequest(Object.assign(request.raw, { auth }), reply.raw, request.body);
}
