import { definePlugin, version } from 'apflow';
import { createA2aStore } from './a2a-store.ts';
import { cardFacts, v1Card } from './agent-card.ts';
import { mountA2aEndpoint } from './a2a-endpoint.ts';
import { mountCardRoutes } from './card-routes.ts';
import { migrations } from './migrations.ts';
import { createPushService } from './push-service.ts';
import { guardHandler } from './guard-handler.ts';
import { createRequestHandler } from './request-handler.ts';
import { A2aSettings } from './settings.ts';

/**
 * apflow as an A2A agent (protocol v0.3 and v1.0): the agent card at `/.well-known/…`, and
 * A2A's JSON-RPC methods on `POST /`, where a message carrying a task tree creates and runs it.
 */
export default definePlugin({
  name: 'a2a',
  version,
  config: { key: 'a2a', schema: A2aSettings },
  migrations,
  setup(app) {
    const settings = app.settings;
    const store = createA2aStore(app);
    const push = createPushService(app, store, settings);
    // Deliveries go on while a stop lets running tasks finish; they end with the generation.
    app.onDispose(() => push.close());
    const handler = createRequestHandler(app, store, push, {
      // The SDK asks for the card only to check capabilities; the served card uses the request's host.
      card: () =>
        v1Card(cardFacts(app, settings, app.config.server.base_url ?? `http://localhost:${app.config.server.port}`)),
      maxHistory: settings.max_history,
    });
    mountCardRoutes(app, settings);
    mountA2aEndpoint(app, guardHandler(handler));
    // Deliveries a stop interrupted go on from where each config got to.
    void push
      .resume()
      .catch((error: unknown) => app.log.error({ err: error }, 'could not resume A2A push notifications'));
  },
});
