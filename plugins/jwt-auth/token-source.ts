import type { RequestContext } from 'apflow';

/** A cookie's value from a `Cookie` header (RFC 6265 pairs; the value URL-decoded when it can be). */
function cookie(header: string | undefined, name: string): string | undefined {
  for (const pair of header?.split(';') ?? []) {
    const at = pair.indexOf('=');
    if (at < 0 || pair.slice(0, at).trim() !== name) continue;
    const value = pair
      .slice(at + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

/** A token a request carries, and where it was found (cookies need an origin check: see cookie-origin.ts). */
export interface CarriedToken {
  token: string;
  from: 'header' | 'cookie' | 'query';
}

/**
 * The token a request carries, as the original read it: `Authorization: Bearer <token>` (a value
 * without the scheme is taken as the token), else the `authorization` or `auth_token` cookie; on
 * WebSocket connections also the `token` query parameter.
 */
export function tokenOf(request: RequestContext): CarriedToken | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.trim() !== '')
    return { token: header.replace(/^Bearer\s+/i, '').trim(), from: 'header' };
  const cookies = request.headers.cookie;
  const fromCookie = cookie(cookies, 'authorization') ?? cookie(cookies, 'auth_token');
  if (fromCookie) return { token: fromCookie.replace(/^Bearer\s+/i, ''), from: 'cookie' };
  if (request.transport === 'ws' || request.route === '/ws') {
    const query = new URL(request.url, 'http://localhost').searchParams.get('token');
    if (query) return { token: query, from: 'query' };
  }
  return undefined;
}

/**
 * Paths anyone may reach: the agent card, the MCP endpoint's protected-resource metadata, health,
 * login, the API docs, the dashboard page (and every CORS preflight).
 */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set([
  '/.well-known/agent-card.json',
  '/.well-known/agent-card',
  '/.well-known/agent.json',
  '/.well-known/oauth-protected-resource',
  '/.well-known/oauth-protected-resource/mcp',
  '/health',
  '/auth/login',
  '/docs',
  '/openapi.json',
  '/ui',
]);

/** Whether a request needs no token. */
export function isPublic(request: RequestContext): boolean {
  if (request.transport === 'http' && request.method === 'OPTIONS') return true;
  const query = request.url.indexOf('?');
  return request.transport === 'http' && PUBLIC_PATHS.has(query < 0 ? request.url : request.url.slice(0, query));
}
