import { randomUUID } from 'node:crypto';
import type { StreamResponse, TaskPushNotificationConfig } from '@a2a-js/sdk';
import { postWithRetries, runTraceHeaders, tracingActive, type PluginApp, loadOnce } from 'apflow';
import type { A2aStore, A2aTaskRow, PushConfigRow } from './a2a-store.ts';
import type { CallInfo } from './call-context.ts';
import { createPushSecrets } from './push-secrets.ts';
import type { A2aConfig } from './settings.ts';

// The SDK's serializers and errors load with the first delivery or config call, not at start.
const sdk = loadOnce(() => import('./push-sdk.ts'));

/** Push notification configs of A2A tasks, and the delivery of their updates. */
export interface PushService {
  /** Adds a config that gets the updates of the events after `fromSeq`. */
  create(
    row: A2aTaskRow,
    config: TaskPushNotificationConfig,
    call: CallInfo,
    fromSeq: number,
  ): Promise<TaskPushNotificationConfig>;
  get(row: A2aTaskRow, id: string): Promise<TaskPushNotificationConfig>;
  list(row: A2aTaskRow): Promise<TaskPushNotificationConfig[]>;
  remove(row: A2aTaskRow, id: string): Promise<void>;
  /** Pushes the updates of the task's tree to its configs, in order, each from where it got to. */
  watch(row: A2aTaskRow, rootId: string): void;
  /**
   * Resumes the deliveries a stop interrupted (at least once: an update may come twice), now and
   * then again every push lease: deliveries of a server that died go on elsewhere.
   */
  resume(): Promise<void>;
  /** Stops every delivery and gives its lease up (the plugin's generation ends). */
  close(): Promise<void>;
}

const MASK = '***';

export function createPushService(app: PluginApp, store: A2aStore, settings: A2aConfig): PushService {
  const secrets = createPushSecrets(settings.secrets_key);
  // a2a.push.allow_private/allow_hosts/deny_hosts are aliases of outbound.*, for push only.
  const { allow_private, allow_hosts, deny_hosts } = settings.push;
  const outbound = app.outbound.with({ allow_private, allow_hosts, deny_hosts });
  const stop = new AbortController();
  const watching = new Set<string>();
  // Deliveries in flight: close waits for them, so their leases are given up before the database
  // closes (a lease left held would keep the other servers off the task until it expires).
  const inFlight = new Set<Promise<void>>();
  // One deliverer per task across servers and workers: a lease, renewed while it delivers.
  const owner = app.serverId;
  const leaseMs = app.config.engine.lease_s * 1000;
  const lease = (taskId: string) =>
    store.takePushLease(taskId, owner, new Date(Date.now() + leaseMs).toISOString(), new Date().toISOString());
  let resumer: NodeJS.Timeout | undefined;
  const ref = (row: PushConfigRow) => `${row.task_id}/${row.id}`;

  /** A config as answered: secrets are never echoed back, only that they are set. */
  const view = (row: PushConfigRow): TaskPushNotificationConfig => {
    const held = secrets.open(ref(row), row.sealed_secrets);
    return {
      tenant: '',
      id: row.id,
      taskId: row.task_id,
      url: row.url,
      token: held.token ? MASK : '',
      authentication: row.scheme ? { scheme: row.scheme, credentials: held.credentials ? MASK : '' } : undefined,
    };
  };
  const find = async (row: A2aTaskRow, id: string) => {
    const configs = await store.pushConfigs(row.id);
    // v0.3 clients ask for "default" (or no id) when they set one without an id.
    const found =
      !id || id === 'default'
        ? (configs.find((config) => config.id === id) ?? configs[0])
        : configs.find((config) => config.id === id);
    if (!found)
      throw (await sdk()).invalidParams(`Push notification config ${id || '(default)'} not found for task ${row.id}`);
    return found;
  };

  async function deliver(config: PushConfigRow, update: StreamResponse, rootId: string): Promise<void> {
    const version = config.protocol_version === '0.3' ? '0.3' : '1.0';
    const { body, contentType } = (await sdk()).serializers[version].serialize(update);
    const held = secrets.open(ref(config), config.sealed_secrets);
    // Under the span of the tree's run when it is traced.
    const trace = tracingActive() ? runTraceHeaders(await app.tasks.get(rootId)) : {};
    const headers: Record<string, string> = { ...trace, 'content-type': contentType };
    if (held.token) headers['x-a2a-notification-token'] = held.token;
    if (config.scheme && held.credentials) headers.authorization = `${config.scheme} ${held.credentials}`;
    await postWithRetries({
      url: config.url,
      outbound,
      headers,
      body,
      timeoutS: settings.push.timeout_s,
      maxRetries: settings.push.max_retries,
      retryBaseS: settings.push.retry_base_s,
      signal: stop.signal,
      log: app.log,
      context: { a2a_task_id: config.task_id, push_config_id: config.id, target: new URL(config.url).origin },
      what: 'A2A push notification',
    });
  }

  async function run(row: A2aTaskRow, rootId: string): Promise<void> {
    // URLs the policy allowed this run: not asked again (each connection is checked anyway). A
    // refusal is asked again at the next update, so a name that did not resolve gets the later ones.
    const allowed = new Set<string>();
    const configs = await store.pushConfigs(row.id);
    if (configs.length === 0) return;
    const { treeUpdates } = await sdk();
    const after = Math.min(...configs.map((config) => config.delivered_seq));
    for await (const update of treeUpdates(app, row, rootId, after, { signal: stop.signal })) {
      if (stop.signal.aborted) return;
      // Read the configs for each update: ones added or deleted meanwhile count from then on.
      for (const config of await store.pushConfigs(row.id)) {
        if (update.seq <= config.delivered_seq) continue;
        const refused = allowed.has(config.url) ? null : await outbound.check(config.url);
        if (refused) {
          // Not retried: the update counts as handled, like one whose retries ran out.
          const target = new URL(config.url).origin;
          app.log.warn(
            { a2a_task_id: row.id, push_config_id: config.id, target, reason: refused },
            'A2A push notification not sent (not retried)',
          );
        } else {
          allowed.add(config.url);
          await deliver(config, update.response, rootId);
        }
        if (stop.signal.aborted) return;
        // An event counts as delivered once all its updates are: a stop between them sends both again.
        if (update.last) await store.markDelivered(row.id, config.id, update.seq);
      }
    }
  }

  return {
    async create(row, config, call, fromSeq) {
      // Judged without DNS: the name may not resolve from here yet; every delivery is checked, DNS included.
      const refused = await outbound.check(config.url, { resolve: false });
      if (refused) throw (await sdk()).invalidParams(`Push notification URL ${config.url} ${refused}`);
      const stored: PushConfigRow = {
        task_id: row.id,
        id: config.id || randomUUID(),
        url: config.url,
        sealed_secrets: null,
        scheme: config.authentication?.scheme || null,
        protocol_version: call.version,
        delivered_seq: fromSeq,
        created_at: new Date().toISOString(),
      };
      stored.sealed_secrets = secrets.seal(ref(stored), {
        token: config.token || undefined,
        credentials: config.authentication?.credentials || undefined,
      });
      await store.putPushConfig(stored);
      return view(stored);
    },
    get: async (row, id) => view(await find(row, id)),
    list: async (row) => (await store.pushConfigs(row.id)).map(view),
    async remove(row, id) {
      await store.deletePushConfig(row.id, id);
      secrets.forget(`${row.id}/${id}`);
    },
    watch(row, rootId) {
      if (watching.has(row.id) || stop.signal.aborted) return;
      watching.add(row.id);
      const delivering = (async () => {
        let renew: NodeJS.Timeout | undefined;
        let held = false;
        try {
          held = await lease(row.id);
          if (!held) return;
          renew = setInterval(() => void lease(row.id).catch(() => undefined), Math.max(200, leaseMs / 3));
          renew.unref();
          await run(row, rootId);
        } catch (error) {
          app.log.error({ err: error, a2a_task_id: row.id }, 'A2A push notifications stopped');
        } finally {
          clearInterval(renew);
          watching.delete(row.id);
          if (held) await store.releasePushLease(row.id, owner).catch(() => undefined);
        }
      })();
      inFlight.add(delivering);
      void delivering.finally(() => inFlight.delete(delivering));
    },
    async resume() {
      if (!resumer && !stop.signal.aborted) {
        resumer = setInterval(() => void this.resume().catch(() => undefined), leaseMs);
        resumer.unref();
      }
      for (const row of await store.pushesBehind()) this.watch(row, row.root_task_id as string);
    },
    async close() {
      clearInterval(resumer);
      stop.abort();
      await Promise.allSettled([...inFlight]);
    },
  };
}
