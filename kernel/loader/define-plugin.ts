import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteDescription } from '../http/create-http.ts';
import type { RequestContext } from '../hooks/hook-types.ts';
import type { MessageOptions } from '../http/request-context.ts';
import type { Static, TSchema } from 'typebox';
import type { ApflowConfig } from '../config/resolve-config.ts';
import type { ExecutorDefinition } from '../executors/define-executor.ts';
import type { RegisteredExecutor } from '../executors/executor-table.ts';
import type { PluginHooks } from '../hooks/plugin-view.ts';
import type { Logger } from '../internal/logger.ts';
import type { Outbound } from '../outbound/outbound-policy.ts';
import type { FallbackAbout, RpcContext, RpcFallback, RpcMethodDefinition } from '../rpc/rpc-registry.ts';
import type { DispatchOutcome } from '../rpc/rpc-dispatch.ts';
import type { HealthReport } from '../app/health.ts';
import type { Disposer } from './releasers.ts';
import type { Migration } from '../storage/migrations/index.ts';
import type { PluginEngine, PluginStorage, PluginUsage } from './plugin-views.ts';
import type { TaskRepository } from '../engine/task-repository.ts';
import type { SecretSealer } from '../secrets/secret-sealer.ts';
import type { Idempotency } from '../idempotency/idempotency.ts';

export type { PluginEngine, PluginStorage, PluginUsage } from './plugin-views.ts';

/** One JSON-RPC method, as registered. */
export interface RpcMethodDescription {
  endpoint: string;
  method: string;
  description?: string;
  /** The params schema the method checks its params with (TypeBox, i.e. JSON Schema). */
  params?: TSchema;
  /** The plugin that registered it. */
  plugin: string;
}

/** What this generation serves: for API documentation (`api-docs`). */
export interface AppDescription {
  /** Every HTTP route (the kernel's and every plugin's), one entry per method. */
  routes: RouteDescription[];
  /** Every registered JSON-RPC method, by endpoint. */
  rpc: RpcMethodDescription[];
  /** Endpoints whose unregistered methods a plugin answers (`rpc.fallback`: A2A on `/`). */
  fallbacks: ({ endpoint: string; plugin: string } & FallbackAbout)[];
}

/**
 * What a plugin's `setup` receives: the kernel's services, scoped to that plugin. `Settings` is
 * the type of its own config section (`Static` of the schema it declares in `config`).
 */
export interface PluginApp<Options = Record<string, unknown>, Settings = unknown> {
  /** The plugin's name (also the name every tap must use). */
  readonly name: string;
  /** The plugin's options from the config, checked against its `options` schema. */
  readonly options: Options;
  /** The plugin's own config section (`definePlugin({ config })`), checked, with defaults filled in. */
  readonly settings: Settings;
  /** The whole validated configuration (read only). */
  readonly config: ApflowConfig;
  /** The environment the server was started with (`createApp({ env })` in embedding and tests). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The hook table, tap-only. */
  readonly hooks: PluginHooks;
  /** This generation's Fastify app: add routes here during setup. */
  readonly http: FastifyInstance;
  /** JSON-RPC methods: `rpc.method('/tasks', 'tasks.get', { params, handler })`. */
  readonly rpc: {
    method<S extends TSchema>(endpoint: string, name: string, definition: RpcMethodDefinition<S>): void;
    /** Answers a JSON-RPC body (a call or a batch) on `endpoint`, as its HTTP route would (for other transports). */
    dispatch(
      endpoint: string,
      body: unknown,
      context: Omit<RpcContext, 'id' | 'method' | 'endpoint'>,
    ): Promise<DispatchOutcome>;
    /**
     * Calls one method of `endpoint` for another transport of the same methods (MCP, A2A): its
     * params checked as over HTTP; resolves with its result, or rejects with the method's own
     * error (an ApflowError with its code and message), with no envelope to unwrap.
     */
    call(
      endpoint: string,
      method: string,
      params: unknown,
      context: Omit<RpcContext, 'id' | 'method' | 'endpoint'>,
    ): Promise<unknown>;
    /**
     * Answers every call of `endpoint` whose method no plugin registered (one plugin per
     * endpoint): A2A's methods on `/`, with their own validation and streams.
     */
    fallback(endpoint: string, answer: RpcFallback, about?: FallbackAbout): void;
    /** Whether `endpoint` has `method`. */
    has(endpoint: string, method: string): boolean;
  };
  /** Executors: register the plugin's own, look up any. */
  readonly executors: {
    register(definition: ExecutorDefinition<never> | ExecutorDefinition): void;
    get(id: string): RegisteredExecutor | undefined;
    list(): RegisteredExecutor[];
  };
  /**
   * The database for the plugin's own tables: `sql` (raw SQL with dialect helpers) and `dialect`.
   * The kernel's tables are read through `tasks` and `engine`, never joined.
   */
  readonly storage: PluginStorage;
  /** The task engine: create, execute and cancel trees, and hear their events (not start or close it). */
  readonly engine: PluginEngine;
  /**
   * This server's id on the database: one per process (each worker of a `--workers` server has
   * its own), the same across plugin reloads. For a plugin's own leases (who delivers what).
   */
  readonly serverId: string;
  /**
   * Requests that run once per idempotency key of a caller: `once({key, userId, method, params},
   * work)` does `work` for the first request with the key and answers its answer to retries
   * within 24 hours, on any server of the database (`checkKey` checks a key a client gave).
   */
  readonly idempotency: Idempotency;
  /**
   * The LLM calls executors reported (`ctx.usage`), summed: `ofTasks(ids)` and `ofTrees(rootIds)`
   * (a map of each id with usage to its `TokenUsage`), `byDay({ user_id, since, until })`.
   */
  readonly usage: PluginUsage;
  /** Stored tasks: get, tree, list, count, update. */
  readonly tasks: TaskRepository;
  /**
   * The outbound policy (config `outbound`): reach every URL or host a task or a client names
   * through it (`outbound.fetch`, `outbound.checkHost`); `outbound.with({...})` adds a
   * plugin's own allowances.
   */
  readonly outbound: Outbound;
  /**
   * The server's secrets key (config `secrets.key`): `seal` a plugin's own secret before storing
   * it, `open` it to use it. `durable` says whether sealed values survive a restart and open on
   * every server; without a lasting key they are sealed with this server run's key.
   */
  readonly secrets: SecretSealer;
  readonly log: Logger;
  /** The same report as `GET /health`. */
  health(): Promise<HealthReport>;
  /**
   * Adds `section` to `GET /health` (and `system.health`): what `report` answers, asked at each
   * report. `/health` is public: report aggregates, never a user's data or a secret.
   */
  healthSection(section: string, report: () => unknown): void;
  /**
   * Runs the `request` and `auth` hooks for one message of a long-lived connection (a WebSocket
   * opened by `connection`), as the kernel does for every HTTP request, and returns the message's
   * context (its principal, and the `state` the hooks filled). Rejects if a hook refused it.
   */
  enterMessage(connection: FastifyRequest, method: string, options?: MessageOptions): Promise<RequestContext>;
  /** Adds a disposer; all run in reverse order when the plugin's generation is disposed. */
  onDispose(disposer: Disposer): void;
  /**
   * Called when this generation stops taking requests (shutdown, or a reload swapping in a new
   * one), before it waits for running requests: end long-lived streams here so clients reconnect
   * (and resume) instead of holding the shutdown up.
   */
  onClosing(listener: () => void): void;
  /**
   * The routes and JSON-RPC methods this generation serves (read only). Complete once the
   * generation is ready: call it at request time, not in setup.
   */
  describe(): AppDescription;
  /** Offers `value` to other plugins under `name` (one provider per name and generation). */
  provide<K extends keyof KernelServices>(name: K, value: KernelServices[K]): void;
  /** What another plugin provided under `name`, if it is loaded. Ask at request time, not in setup. */
  service<K extends keyof KernelServices>(name: K): KernelServices[K] | undefined;
}

/**
 * Services plugins offer each other, by name. Empty here: a plugin that provides one declares it
 * with `declare module 'apflow' { interface KernelServices { name: Type } }`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface KernelServices {}

/**
 * A plugin: a name and a setup function, plus optional metadata the loader checks. `Config` is
 * the schema of its config section: `setup` gets the section typed by it, no casts.
 */
export interface PluginDefinition<Options = Record<string, unknown>, Config extends TSchema = TSchema> {
  name: string;
  version?: string;
  description?: string;
  /** Plugins that must be set up first; a missing one stops the start. */
  dependencies?: readonly string[];
  /** Schema of the options given in the config's `plugins` entry. */
  options?: TSchema;
  /** A top-level config section this plugin owns, validated when it loads. */
  config?: { key: string; schema: Config };
  /**
   * Schema changes for the plugin's own tables (`<plugin>_…`), oldest first; run under the
   * migration lock before `setup`, each once per database.
   */
  migrations?: readonly Migration[];
  /** Wires the plugin in; may return a disposer. */
  setup(app: PluginApp<Options, Static<Config>>): void | Disposer | Promise<void | Disposer>;
}

/**
 * Types a plugin. Returns its argument unchanged; a plugin module default-exports one.
 *
 * @example
 * export default definePlugin({
 *   name: 'hello',
 *   setup(app) { app.http.get('/hello', async () => ({ hello: 'world' })); },
 * });
 */
export function definePlugin<Options = Record<string, unknown>, Config extends TSchema = TSchema>(
  definition: PluginDefinition<Options, Config>,
): PluginDefinition<Options, Config> {
  return definition;
}
