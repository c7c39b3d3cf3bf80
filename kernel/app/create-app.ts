import type { KernelServices } from '../loader/define-plugin.ts';
import type { Storage } from '../storage/create-storage.ts';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import {
  resolveConfig,
  type ApflowConfig,
  type LoadedConfig,
  type ResolveConfigOptions,
} from '../config/resolve-config.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import type { ExecutorDefinition } from '../executors/define-executor.ts';
import { createExecutorFolders } from '../executors/executor-folders.ts';
import { createExecutorTable, type RegisteredExecutor } from '../executors/executor-table.ts';
import { createLogger, type Logger } from '../internal/logger.ts';
import { createOutbound, type Outbound } from '../outbound/outbound-policy.ts';
import { createSelfAddresses } from '../outbound/self-addresses.ts';
import { createStorage, durabilityOf } from '../storage/create-storage.ts';
import { createTaskEngine, type TaskEngine } from '../engine/task-engine.ts';
import { createTaskRepository, type TaskRepository } from '../engine/task-repository.ts';
import { createSecretSealer } from '../secrets/secret-sealer.ts';
import { resolveSecretsKey, SESSION_KEY_ENV } from '../secrets/secrets-key.ts';
import { createTaskSecrets } from '../secrets/task-secrets.ts';
import { createSignalBus } from '../engine/signal-bus.ts';
import { DEFAULT_PRICES } from '../usage/prices.ts';
import { createUsageRecorder } from '../usage/record-usage.ts';
import { createUsageLedger } from '../usage/usage-ledger.ts';
import { answerServerTasks } from './server-tasks.ts';
import { drain, createFrontServer } from './front-server.ts';
import { createGeneration, type Generation } from './generation.ts';
import type { HealthReport } from './health.ts';
import { watchPluginFiles } from './plugin-watcher.ts';
import { createPluginViews } from '../loader/plugin-views.ts';
import { createReleasers } from '../loader/releasers.ts';
import { openServerWarning } from '../http/open-server-warning.ts';

/** Options of {@link createApp}: where the config comes from, plus embedding knobs. */
export interface CreateAppOptions extends ResolveConfigOptions {
  /** Where log lines go (default: stdout). */
  logStream?: DestinationStream;
  /** Run database migrations at start (default true; cluster workers leave it to the primary). */
  migrate?: boolean;
  /** An already resolved configuration (skips reading it again). */
  loaded?: LoadedConfig;
  /** Resume trees whose server stopped (default true; one-shot commands leave them to servers). */
  resume?: boolean;
  /** Executors given as values (e.g. by `apflow/testing`), besides those in the executor folders. */
  executors?: readonly ExecutorDefinition[];
}

/** A running apflow: listen, close, reload, and look inside. */
export interface App {
  readonly config: ApflowConfig;
  readonly log: Logger;
  /** Starts listening on `server.host:server.port` (or the given ones); resolves with the address. */
  listen(options?: { host?: string; port?: number }): Promise<{ url: string; host: string; port: number }>;
  /** Stops accepting, lets running requests finish (bounded by `server.shutdown_timeout_s`), then releases everything. */
  close(): Promise<void>;
  /** Builds a new generation from the plugins on disk and swaps it in; the old one drains. */
  reload(): Promise<void>;
  /** Sends a request to the current generation without a socket. */
  inject(options: InjectOptions | string): Promise<LightMyRequestResponse>;
  health(): Promise<HealthReport>;
  /** Finds an executor by id (executor folders first, then plugins). */
  executor(id: string): RegisteredExecutor | undefined;
  /** What a plugin provided under `name` (e.g. `jwt-auth` for the `apflow users` commands). */
  service<K extends keyof KernelServices>(name: K): KernelServices[K] | undefined;
  /** The current generation (for the kernel's own services and tests). */
  generation(): Generation;
  /** The task engine: create, execute and cancel trees. */
  readonly engine: TaskEngine;
  /** Read access (and plain updates) to stored tasks. */
  readonly tasks: TaskRepository;
  /** The open database (raw SQL with `storage.sql`, as plugins get it). */
  readonly storage: Storage;
  /** The outbound policy (config `outbound`; this server's own address is allowed once it listens). */
  readonly outbound: Outbound;
}

/**
 * Creates an apflow server: reads the configuration, opens the database, loads the executor
 * folders and the plugins. Nothing listens until {@link App.listen}.
 *
 * @example
 * const app = await createApp({ inline: { database: { url: 'sqlite::memory:' } } });
 * await app.listen({ port: 8000 });
 */
export async function createApp(options: CreateAppOptions = {}): Promise<App> {
  const loaded = options.loaded ?? (await resolveConfig(options));
  const { config } = loaded;
  const log = createLogger({ level: config.log.level, stream: options.logStream, format: config.log.format });
  const storage = await createStorage({
    url: config.database.url,
    log,
    durability: durabilityOf(config.database),
    preparedStatements: config.database.postgres.prepared_statements,
  });
  // Released newest first when the app closes or fails to start; a failure is logged, the rest still run.
  const releasers = createReleasers({ onError: (err) => log.error({ err }, 'release failed') });
  releasers.add(() => storage.close());
  try {
    if (options.migrate !== false) await storage.migrate();
    const folderExecutors = createExecutorTable();
    const folders = await createExecutorFolders({ dirs: config.executors.dirs, table: folderExecutors, log });
    releasers.add(() => folders.close());
    if (options.executors?.length) folderExecutors.replaceSource('(given to createApp)', options.executors);
    const pluginErrors: { file: string; error: string; at: string }[] = [];
    // The engine outlives generations: it asks for the current hooks and executors each time.
    let current!: Generation;
    const executor = (id: string) => current?.executor(id);
    const sealer = createSecretSealer({ ...resolveSecretsKey(config), sessionKey: process.env[SESSION_KEY_ENV] });
    const secrets = createTaskSecrets(sealer, executor);
    const tasks = createTaskRepository(storage.sql, secrets);
    const signals = await createSignalBus({ dialect: storage.dialect, url: config.database.url, log });
    releasers.add(() => signals.close());
    const self = createSelfAddresses();
    if (config.server.base_url) self.knownAs(config.server.base_url);
    const outbound = createOutbound({ rules: config.outbound, self });
    releasers.add(() => outbound.close());
    const ledger = createUsageLedger(storage.sql);
    const prices = { ...DEFAULT_PRICES, ...config.usage.prices };
    const usage = createUsageRecorder({ ledger, prices: () => prices, hooks: () => current.hooks, log });
    const engine = createTaskEngine({
      repository: tasks,
      sql: storage.sql,
      signals,
      hooks: () => current.hooks,
      executor,
      executorIds: () => current?.executors().map((entry) => entry.definition.id) ?? [],
      settings: config.engine,
      outbound,
      secrets,
      usage,
      log,
    });
    const stopAnswering = answerServerTasks(engine);
    releasers.add(stopAnswering);
    const shared = {
      loaded,
      log,
      storage,
      folderExecutors,
      engine,
      tasks,
      views: createPluginViews(engine, storage, ledger, log),
      outbound,
      secrets: sealer,
      reloadErrors: () => [...folders.errors(), ...pluginErrors],
      startedAt: Date.now(),
    };

    let generationId = 1;
    current = await createGeneration(shared, { id: generationId, fresh: false });
    releasers.add(() => engine.close(config.server.shutdown_timeout_s * 1000));
    await engine.start({ resume: options.resume !== false });
    const { server, upgrades } = createFrontServer(() => current);
    const drainMs = config.server.shutdown_timeout_s * 1000;
    let closing: Promise<void> | undefined;

    // Closing waits for a reload under way and for swapped-out generations still draining.
    const retiring = new Set<Promise<void>>();
    let reloading = Promise.resolve();
    releasers.add(async () => {
      await reloading;
      await Promise.all(retiring);
    });
    const swapGeneration = async (): Promise<void> => {
      if (closing) return;
      try {
        const next = await createGeneration(shared, { id: ++generationId, fresh: true });
        if (closing) return void (await next.dispose().catch((err) => log.error({ err }, 'dispose failed')));
        const previous = current;
        current = next;
        pluginErrors.length = 0;
        log.info({ generation: next.id, plugins: next.plugins }, 'plugins reloaded');
        previous.beginClose();
        const retired = drain(previous, drainMs).then(() =>
          previous.dispose().catch((err) => log.error({ err }, 'dispose failed')),
        );
        retiring.add(retired);
        void retired.then(() => retiring.delete(retired));
      } catch (error) {
        pluginErrors.length = 0;
        pluginErrors.push({ file: 'plugins', error: (error as Error).message, at: new Date().toISOString() });
        log.error({ err: error }, 'plugin reload failed; keeping the running generation');
      }
    };
    // One reload at a time, so a slow build cannot swap in after a newer one.
    const reload = (): Promise<void> => (reloading = reloading.then(swapGeneration));
    if (config.reload) {
      const watcher = await watchPluginFiles(config.plugins, () => void reload(), log);
      releasers.add(() => watcher.close());
    }

    const app: App = {
      config,
      log,
      async listen(overrides = {}) {
        const host = overrides.host ?? config.server.host;
        const port = overrides.port ?? config.server.port;
        await new Promise<void>((resolve, reject) => {
          const onError = (error: NodeJS.ErrnoException) => {
            server.off('listening', onListening);
            reject(
              error.code === 'EADDRINUSE'
                ? new ApflowError('APF_PORT_IN_USE', { message: `port ${port} is already in use on ${host}` })
                : error,
            );
          };
          const onListening = () => {
            server.off('error', onError);
            resolve();
          };
          server.once('error', onError);
          server.once('listening', onListening);
          server.listen(port, host);
        });
        const address = server.address() as AddressInfo;
        self.listening(address.address, address.port);
        const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
        log.info({ url, generation: current.id, plugins: current.plugins }, 'apflow listening');
        // A plugin of one's own may authenticate without auth.enabled: any auth tap counts.
        const exposed = openServerWarning(
          address.address,
          address.port,
          config.auth.enabled || current.hooks.auth.isUsed(),
        );
        if (exposed) log.warn({ host: address.address, port: address.port }, exposed);
        return { url, host: address.address, port: address.port };
      },
      close() {
        closing ??= (async () => {
          const deadline = Date.now() + drainMs;
          current.beginClose();
          if (server.listening) {
            const closed = new Promise<void>((resolve) => server.close(() => resolve()));
            server.closeIdleConnections();
            if (!(await drain(current, drainMs))) log.warn('shutdown timeout: closing requests still running');
            server.closeAllConnections();
            // Upgrade sockets (WebSockets told to go away, answered upgrades) are not Node's
            // HTTP connections: the same deadline, then they are destroyed.
            await upgrades.close(deadline - Date.now());
            await closed;
          }
          await current.dispose().catch((err) => log.error({ err }, 'dispose failed'));
          await releasers.release();
          log.info('apflow stopped');
          log.flush?.();
        })();
        return closing;
      },
      reload,
      inject: (injectOptions) => current.http.fastify.inject(injectOptions as InjectOptions),
      health: () => current.health(),
      executor: (id) => current.executor(id),
      generation: () => current,
      service: (name) => current.service(name),
      engine,
      tasks,
      storage,
      outbound,
    };
    return app;
  } catch (error) {
    await releasers.release();
    throw error;
  }
}
