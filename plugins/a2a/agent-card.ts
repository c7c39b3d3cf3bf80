import { AgentCard } from '@a2a-js/sdk';
import { version } from 'apflow';
import type { CardFacts } from './card-facts.ts';

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

/** The v1.0 card as JSON (the shape served to `A2A-Version: 1.x`). */
export const v1CardJson = (facts: CardFacts) => AgentCard.toJSON(v1Card(facts)) as Record<string, unknown>;

/**
 * The card as served without `A2A-Version: 1.x`: the v0.3 shape (url, preferredTransport,
 * protocolVersion, kind-less skills) with v1.0's `supportedInterfaces` beside it, so clients of
 * either version find their interface.
 */
export function hybridCard(facts: CardFacts): Record<string, unknown> {
  const v1 = v1CardJson(facts);
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
