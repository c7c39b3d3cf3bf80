import { definePlugin, version } from 'apflow';
import { createA2aStore } from './a2a-store.ts';
import { mountA2aEndpoint } from './a2a-endpoint.ts';
import { mountCardRoutes } from './card-routes.ts';
import { migrations } from './migrations.ts';
import { createPushService } from './push-service.ts';
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
    mountCardRoutes(app, settings);
    mountA2aEndpoint(app, { store, push, settings });
    // Deliveries a stop interrupted go on from where each config got to.
    void push
      .resume()
      .catch((error: unknown) => app.log.error({ err: error }, 'could not resume A2A push notifications'));
  },
});
