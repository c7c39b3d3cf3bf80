import { enterMessage } from '../http/request-context.ts';
import type { LoadedConfig } from '../config/resolve-config.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import type { ExecutorTable, RegisteredExecutor } from '../executors/executor-table.ts';
import { createExecutorTable } from '../executors/executor-table.ts';
import type { ReloadError } from '../executors/executor-folders.ts';
import { createHooks, type Hooks } from '../hooks/hooks.ts';
import { createPluginHooks } from '../hooks/plugin-view.ts';
import { createHttp, type HttpApp } from '../http/create-http.ts';
import type { Logger } from '../internal/logger.ts';
import type { Outbound } from '../outbound/outbound-policy.ts';
import { version } from '../internal/version.ts';
import type { KernelServices, PluginApp } from '../loader/define-plugin.ts';
import { loadPlugins, setupPlugins } from '../loader/load-plugins.ts';
import type { PluginViews } from '../loader/plugin-views.ts';
import type { SecretSealer } from '../secrets/secret-sealer.ts';
import { createReleasers } from '../loader/releasers.ts';
import { resolvePluginSources } from '../loader/resolve-plugins.ts';
import { createRpcRegistry, type RpcRegistry } from '../rpc/rpc-registry.ts';
import { mountRpcRoutes } from '../rpc/rpc-routes.ts';
import { callRpc, dispatchRpc } from '../rpc/rpc-dispatch.ts';
import type { Storage } from '../storage/create-storage.ts';
import type { TaskEngine } from '../engine/task-engine.ts';
import type { TaskRepository } from '../engine/task-repository.ts';
import { buildHealthReport, HEALTH_KEYS, type HealthReport } from './health.ts';
import { serverTasks } from './server-tasks.ts';
import { endAnsweredUpgrades } from './upgrade-sockets.ts';

/** What every generation shares: config, logger, database, the executor folders. */
export interface GenerationShared {
  loaded: LoadedConfig;
  log: Logger;
  storage: Storage;
  folderExecutors: ExecutorTable;
  engine: TaskEngine;
  tasks: TaskRepository;
  /** What plugins get of the engine and the database (without the kernel's members). */
  views: PluginViews;
  outbound: Outbound;
  /** Seals values with the server's secrets key (secret inputs, plugins' own secrets). */
  secrets: SecretSealer;
  reloadErrors(): ReloadError[];
  startedAt: number;
}

/**
 * One generation: a hook table, a Fastify app, the JSON-RPC and executor registries, and the
 * plugins set up on them. A plugin reload builds a new generation and swaps it in whole,
 * because Fastify cannot remove routes and tapable cannot untap.
 */
export interface Generation {
  readonly id: number;
  readonly hooks: Hooks;
  readonly http: HttpApp;
  readonly rpc: RpcRegistry;
  readonly plugins: readonly string[];
  /** Requests being served by this generation. */
  inflight: number;
  /** Finds an executor: executor-folder files first, then plugin executors. */
  executor(id: string): RegisteredExecutor | undefined;
  executors(): RegisteredExecutor[];
  health(): Promise<HealthReport>;
  /** Closes the Fastify app and runs the plugins' disposers (reverse order). */
  dispose(): Promise<void>;
  /** Tells the plugins this generation stops taking requests (they end long-lived streams). */
  beginClose(): void;
  /** What a plugin provided under `name` (see `PluginApp.provide`). */
  service<K extends keyof KernelServices>(name: K): KernelServices[K] | undefined;
}

/** Builds a generation; `fresh` re-imports local plugin files (used by reloads). */
export async function createGeneration(
  shared: GenerationShared,
  options: { id: number; fresh: boolean },
): Promise<Generation> {
  const { config, baseDir } = shared.loaded;
  const hooks = createHooks();
  const http = createHttp({
    hooks,
    log: shared.log,
    bodyLimit: config.server.body_limit,
    requestLogLevel: config.log.requests,
  });
  endAnsweredUpgrades(http.fastify);
  const rpc = createRpcRegistry();
  const pluginExecutors = createExecutorTable();
  const releasers = createReleasers();
  const closing: (() => void)[] = [];
  const services = new Map<PropertyKey, { plugin: string; value: unknown }>();
  releasers.add(() => http.fastify.close());

  const sources = resolvePluginSources(config.plugins, config.disabled_plugins, baseDir);
  const plugins = await loadPlugins(sources, config, options.fresh);
  const names = plugins.map((plugin) => plugin.definition.name);

  const executor = (id: string) => shared.folderExecutors.get(id) ?? pluginExecutors.get(id);
  const executors = () => {
    const all = new Map(pluginExecutors.list().map((entry) => [entry.definition.id, entry]));
    for (const entry of shared.folderExecutors.list()) all.set(entry.definition.id, entry);
    return [...all.values()];
  };
  const healthSections = new Map<string, () => unknown>();
  const health = () =>
    buildHealthReport({
      sections: healthSections,
      version,
      startedAt: shared.startedAt,
      workers: config.server.workers,
      dialect: shared.storage.dialect,
      ping: () => shared.storage.ping(),
      plugins: () => names,
      endpoints: () =>
        Object.fromEntries(http.routes().flatMap((route) => (route.endpoint ? [[route.endpoint, route.url]] : []))),
      executors: () => executors().length,
      tasks: () => serverTasks(shared.engine),
      cluster: () => shared.engine.cluster(),
      reloadErrors: shared.reloadErrors,
    });

  const makeApp = (plugin: (typeof plugins)[number]): PluginApp => {
    const name = plugin.definition.name;
    const log = shared.log.child({ plugin: name });
    const own: unknown[] = [];
    return {
      name,
      options: plugin.options,
      settings: plugin.settings,
      config,
      env: shared.loaded.env,
      hooks: createPluginHooks(hooks, name),
      http: http.fastify,
      rpc: {
        method: (endpoint, method, definition) => rpc.add(name, endpoint, method, definition),
        dispatch: (endpoint, body, context) => dispatchRpc(rpc, body, { endpoint, ...context }),
        call: (endpoint, method, params, context) => callRpc(rpc, endpoint, method, params, context),
        fallback: (endpoint, answer, about) => rpc.setFallback(name, endpoint, answer, about),
        has: (endpoint, method) => rpc.get(endpoint, method) !== undefined,
      },
      executors: {
        register(definition) {
          own.push(definition);
          pluginExecutors.replaceSource(`plugin:${name}`, own);
        },
        get: executor,
        list: executors,
      },
      storage: shared.views.storage,
      engine: shared.views.engine,
      serverId: shared.views.serverId,
      idempotency: shared.views.idempotency,
      usage: shared.views.usage,
      tasks: shared.tasks,
      outbound: shared.outbound,
      secrets: shared.secrets,
      log,
      health,
      healthSection(section, report) {
        if (HEALTH_KEYS.has(section) || healthSections.has(section))
          throw new Error(`plugin ${name}: the health section '${section}' is taken`);
        healthSections.set(section, report);
      },
      enterMessage: (connection, method, messageOptions) => enterMessage(hooks, connection, method, messageOptions),
      onDispose: (disposer) => releasers.add(disposer),
      onClosing: (listener) => void closing.push(listener),
      describe: () => ({
        routes: [...http.routes()],
        rpc: rpc.endpoints().flatMap((endpoint) =>
          rpc.methods(endpoint).map(({ name: method, plugin: owner, definition }) => ({
            endpoint,
            method,
            plugin: owner,
            ...(definition.description === undefined ? {} : { description: definition.description }),
            ...(definition.params === undefined ? {} : { params: definition.params }),
          })),
        ),
        fallbacks: rpc.fallbacks(),
      }),
      provide(service, value) {
        if (services.has(service)) {
          throw new ApflowError('APF_PLUGIN_LOAD_FAILED', {
            message: `service '${String(service)}' is provided by both '${services.get(service)?.plugin}' and '${name}'`,
          });
        }
        services.set(service, { plugin: name, value });
      },
      service: (service) => services.get(service)?.value as never,
    };
  };

  try {
    for (const plugin of plugins) {
      const name = plugin.definition.name;
      const done = await shared.storage
        .migratePlugin(name, plugin.definition.migrations ?? [])
        .catch((error: unknown) => {
          throw new ApflowError('APF_PLUGIN_LOAD_FAILED', {
            message: `plugin '${name}' failed to migrate its tables: ${(error as Error).message}`,
            cause: error,
          });
        });
      if (done.length) shared.log.info({ plugin: name, migrations: done }, 'plugin migrations applied');
    }
    await setupPlugins(plugins, makeApp, releasers);
    if (config.auth.enabled && !hooks.auth.isUsed()) {
      throw new ApflowError('APF_CONFIG_INVALID', {
        message: 'auth.enabled is true, but no loaded plugin authenticates requests (enable the jwt-auth plugin)',
      });
    }
    http.fastify.get('/health', async (_request, reply) => {
      const report = await health();
      return reply.status(report.status === 'unavailable' ? 503 : 200).send(report);
    });
    mountRpcRoutes(http.fastify, rpc);
    await http.fastify.ready();
  } catch (error) {
    await releasers.release().catch(() => undefined);
    throw error;
  }

  return {
    id: options.id,
    hooks,
    http,
    rpc,
    plugins: names,
    inflight: 0,
    executor,
    executors,
    health,
    dispose: () => releasers.release(),
    service: (name) => services.get(name)?.value as never,
    beginClose() {
      for (const listener of closing.splice(0)) {
        try {
          listener();
        } catch (err) {
          shared.log.error({ err }, 'a closing listener failed');
        }
      }
    },
  };
}
