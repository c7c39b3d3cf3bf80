import type { FastifyRequest, PluginApp } from 'apflow';
import { SKILLS } from './skills.ts';

/** What the two card shapes are made from. */
export interface CardFacts {
  name: string;
  description: string;
  /** The JSON-RPC endpoint: the server's public base URL with `/`. */
  url: string;
  skills: { id: string; name: string; description: string; tags: string[] }[];
  /** Whether callers must authenticate (a bearer JWT). */
  bearer: boolean;
  /** The MCP endpoint, when this server serves one (the mcp plugin's `POST /mcp`). */
  mcpUrl?: string;
}

/** Whether this generation serves MCP: a `POST /mcp` route (the mcp plugin's). Asked at request time. */
function servesMcp(app: PluginApp): boolean {
  return app.describe().routes.some((route) => route.method === 'POST' && route.url === '/mcp');
}

/**
 * The public base URL: `server.base_url`, else the scheme and Host the client used (a wildcard
 * listen address is never advertised).
 */
export function publicBaseUrl(app: PluginApp, request: FastifyRequest): string {
  const configured = app.config.server.base_url;
  if (configured) return configured.replace(/\/+$/, '');
  const forwarded = request.headers['x-forwarded-proto'];
  const scheme = typeof forwarded === 'string' && /^https?$/.test(forwarded) ? forwarded : request.protocol;
  const host = (request.headers.host ?? `localhost:${app.config.server.port}`).replace(
    /^(0\.0\.0\.0|\[::\])(?=:|$)/,
    'localhost',
  );
  return `${scheme}://${host}`;
}

/** The facts of the card for a server at `baseUrl`, with the skills the tasks API serves. */
export function cardFacts(app: PluginApp, settings: { name: string; description: string }, baseUrl: string): CardFacts {
  return {
    name: settings.name,
    description: settings.description,
    url: `${baseUrl}/`,
    skills: SKILLS.filter((skill) => app.rpc.has('/tasks', skill.id)).map((skill) => ({ ...skill })),
    bearer: app.config.auth.enabled,
    ...(servesMcp(app) ? { mcpUrl: `${baseUrl}/mcp` } : {}),
  };
}
