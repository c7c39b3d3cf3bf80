import { AgentCard } from '@a2a-js/sdk';
import { version, type FastifyRequest, type PluginApp } from 'apflow';
import { SKILLS } from './skills.ts';

/** What the two card shapes are made from. */
interface CardFacts {
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

const MODES = { input: ['application/json', 'text/plain'], output: ['application/json'] };
const CAPABILITIES = { streaming: true, pushNotifications: true };

/**
 * What identifies the MCP mention: the protocol and transport a client speaks at its `url`.
 * The mention is a data-only extension (A2A's extensions topic: structured information in the
 * card that changes nothing in A2A requests), so A2A clients that do not know it ignore it.
 */
const MCP_EXTENSION_URI = 'https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http';

/** The card's capabilities: A2A's, and the MCP endpoint as a data-only extension when there is one. */
function capabilities(facts: CardFacts) {
  if (!facts.mcpUrl) return CAPABILITIES;
  const mcp = {
    uri: MCP_EXTENSION_URI,
    description: `This server is also an MCP server (Model Context Protocol, Streamable HTTP) at ${facts.mcpUrl}: apflow's task operations as MCP tools. Data only: A2A requests are unchanged.`,
    required: false,
    params: { url: facts.mcpUrl, transport: 'streamable-http' },
  };
  return { ...CAPABILITIES, extensions: [mcp] };
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

/** The v1.0 card (the SDK's object): one JSON-RPC interface, listed for 1.0 and for 0.3. */
export function v1Card(facts: CardFacts): AgentCard {
  return AgentCard.fromJSON({
    name: facts.name,
    description: facts.description,
    version,
    supportedInterfaces: [
      { url: facts.url, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url: facts.url, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
    ],
    capabilities: { ...capabilities(facts), extendedAgentCard: false },
    defaultInputModes: MODES.input,
    defaultOutputModes: MODES.output,
    skills: facts.skills,
    ...(facts.bearer
      ? {
          securitySchemes: {
            bearer: {
              httpAuthSecurityScheme: {
                scheme: 'Bearer',
                bearerFormat: 'JWT',
                description: 'A JWT in Authorization: Bearer <token>',
              },
            },
          },
          securityRequirements: [{ schemes: { bearer: { list: [] } } }],
        }
      : {}),
  });
}

/**
 * The card as served without `A2A-Version: 1.x`: the v0.3 shape (url, preferredTransport,
 * protocolVersion, kind-less skills) with v1.0's `supportedInterfaces` beside it, so clients of
 * either version find their interface.
 */
export function hybridCard(facts: CardFacts): Record<string, unknown> {
  const v1 = AgentCard.toJSON(v1Card(facts)) as Record<string, unknown>;
  return {
    name: facts.name,
    description: facts.description,
    url: facts.url,
    preferredTransport: 'JSONRPC',
    protocolVersion: '0.3.0',
    version,
    capabilities: capabilities(facts),
    defaultInputModes: MODES.input,
    defaultOutputModes: MODES.output,
    skills: facts.skills,
    supportsAuthenticatedExtendedCard: false,
    ...(facts.bearer
      ? {
          securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
          security: [{ bearer: [] }],
        }
      : {}),
    supportedInterfaces: v1.supportedInterfaces,
  };
}
