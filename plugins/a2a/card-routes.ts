import { createHash } from 'node:crypto';
import type { PluginApp } from 'apflow';
import { requestedVersion } from './a2a-version.ts';
import { cardFacts, publicBaseUrl } from './card-facts.ts';
import { loadOnce } from 'apflow';
import type { A2aConfig } from './settings.ts';

// The card's shapes come from the SDK's AgentCard: loaded with the first card asked for, not at start.
const shapes = loadOnce(() => import('./agent-card.ts'));

/** Where clients look for the card: the v0.3+ path, the guide's curl, and the v0.2 path. */
const CARD_PATHS = ['/.well-known/agent-card.json', '/.well-known/agent-card', '/.well-known/agent.json'];

/**
 * Serves the agent card: the v1.0 shape to `A2A-Version: 1.x`, else the v0.3 shape with v1.0's
 * `supportedInterfaces` beside it; with an ETag and a short cache lifetime, varying by version.
 */
export function mountCardRoutes(app: PluginApp, settings: A2aConfig): void {
  for (const path of CARD_PATHS) {
    app.http.get(path, async (request, reply) => {
      const facts = cardFacts(app, settings, publicBaseUrl(app, request));
      const { hybridCard, v1CardJson } = await shapes();
      const card = requestedVersion(request.headers['a2a-version']) === '1.0' ? v1CardJson(facts) : hybridCard(facts);
      const body = JSON.stringify(card);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      void reply.header('vary', 'A2A-Version').header('cache-control', 'public, max-age=300').header('etag', etag);
      if (request.headers['if-none-match'] === etag) return reply.status(304).send();
      return reply.type('application/json').send(body);
    });
  }
}
