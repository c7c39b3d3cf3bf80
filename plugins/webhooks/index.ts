import { ApflowError, definePlugin, Type, version } from 'apflow';
import { checkWebhookConfig, type WebhookConfig } from './webhook-config.ts';
import { watchTree, type Watch } from './watch-tree.ts';

export type { WebhookConfig } from './webhook-config.ts';

/** What the webhooks plugin offers other plugins (`app.service('webhooks')`). */
export interface WebhooksService {
  /**
   * Checks a `webhook_config` (throws APF_INVALID_PARAMS saying what is wrong), including that its
   * URL may be called (not a private address unless allowed), and fills its defaults.
   */
  check(config: unknown): Promise<Required<WebhookConfig>>;
  /** Sends every event of tree `rootId` with seq > `after` to the webhook, until the final event. */
  watch(rootId: string, after: number, config: WebhookConfig): Watch;
}

declare module 'apflow' {
  interface KernelServices {
    webhooks: WebhooksService;
  }
}

const Settings = Type.Object(
  {
    retry_base_s: Type.Number({ default: 1, exclusiveMinimum: 0 }),
    max_queue: Type.Integer({ default: 10_000, minimum: 1 }),
    // Aliases of outbound.*, for webhooks only: merged with them (either allow_private, both lists).
    /** Allow webhook URLs on loopback, private, link-local and other non-public addresses. */
    allow_private: Type.Boolean({ default: false }),
    /** Hosts (names or IPs) always allowed, e.g. `127.0.0.1` for a local receiver. */
    allow_hosts: Type.Array(Type.String(), { default: [] }),
    /** Hosts never allowed. */
    deny_hosts: Type.Array(Type.String(), { default: [] }),
  },
  { additionalProperties: false, default: {} },
);

/**
 * Webhook callbacks: `webhook_config` of `tasks.execute` sends every event of the run as an HTTP
 * request to the given URL (reference/original-apflow.md §6.2).
 */
export default definePlugin({
  name: 'webhooks',
  version,
  config: { key: 'webhooks', schema: Settings },
  setup(app) {
    const settings = app.settings;
    const outbound = app.outbound.with({
      allow_private: settings.allow_private,
      allow_hosts: settings.allow_hosts,
      deny_hosts: settings.deny_hosts,
    });
    const open = new Set<Watch>();
    app.provide('webhooks', {
      async check(config) {
        const checked = checkWebhookConfig(config);
        const refused = await outbound.check(checked.url);
        if (refused) throw new ApflowError('APF_INVALID_PARAMS', { message: `webhook_config.url ${refused}` });
        return checked;
      },
      watch(rootId, after, config) {
        const watch = watchTree(app, settings, rootId, after, checkWebhookConfig(config), outbound);
        open.add(watch);
        void watch.ended.then(() => open.delete(watch));
        return watch;
      },
    });
    // Deliveries end with the generation: in-flight requests are aborted, queued events dropped.
    const stopAll = () => {
      for (const watch of [...open]) watch.stop();
    };
    app.onClosing(stopAll);
    app.onDispose(stopAll);
  },
});
