/**
 * apflow's public API. Plugins and extensions import from `apflow` only, never deep paths.
 */

// ---- Creating and embedding a server ----
export { createApp, type App, type CreateAppOptions } from './app/create-app.ts';
export type { HealthReport } from './app/health.ts';
export { answerClusterGather, gatherCluster, inCluster } from './app/cluster-gather.ts';

// ---- Configuration ----
export { defineConfig } from './config/define-config.ts';
export { resolveConfig, type ApflowConfig, type LoadedConfig, type CliOverrides } from './config/resolve-config.ts';
export type { UserConfig, KernelConfig } from './config/config-schema.ts';

// ---- Plugins and hooks ----
export {
  definePlugin,
  type AppDescription,
  type KernelServices,
  type PluginApp,
  type PluginDefinition,
  type PluginEngine,
  type PluginStorage,
  type PluginUsage,
  type RpcMethodDescription,
} from './loader/define-plugin.ts';
export type { RouteDescription } from './http/create-http.ts';
export type { Disposer } from './loader/releasers.ts';
export type { Dialect, Migration, SequelizeMigration, SqlMigration } from './storage/migrations/index.ts';
export { columnTypes, type ColumnTypes } from './storage/migrations/column-types.ts';
/** Sequelize's column types and class, for plugin migrations written with Sequelize (the same copy as the kernel's). */
export { DataTypes } from './storage/data-types.ts';
export type { Sequelize } from 'sequelize';
export type { Hooks, HookName } from './hooks/hooks.ts';
export type { PluginHooks } from './hooks/plugin-view.ts';
export type {
  KeyRequest,
  Principal,
  RequestContext,
  RunStartContext,
  TaskCounts,
  TaskEvent,
  TaskEventType,
  TaskRan,
  TaskRunContext,
} from './hooks/hook-types.ts';

// ---- Executors ----
export { defineExecutor, type ExecutorContext, type ExecutorDefinition } from './executors/define-executor.ts';
export type { RegisteredExecutor } from './executors/executor-table.ts';
export { detectProvider } from './executors/detect-provider.ts';

// ---- Tracing (OpenTelemetry) ----
export { createTraceIdGenerator, tracingActive, type TraceIdGenerator } from './telemetry/trace-ids.ts';
export { runTraceHeaders } from './telemetry/spans.ts';

// ---- LLM usage and costs ----
export type { ModelUsage, TokenUsage, UsageDay, UsageRecord, UsageReport } from './usage/usage-types.ts';
export { noUsage, sumUsage, type UsageQuery } from './usage/usage-ledger.ts';
export { DEFAULT_PRICES, costOf, priceOf, type ModelPrice, type PriceTable } from './usage/prices.ts';

// ---- Tasks and the engine ----
export type {
  AlreadyRunning,
  ExecuteAnswer,
  NewTree,
  ExecuteStarted,
  TaskEngine,
  TreeOutcome,
  CancelResult,
  EngineSettings,
} from './engine/task-engine.ts';
export type { Following } from './engine/follow-tree.ts';
export { eventJson } from './engine/task-events.ts';
export type { TaskRepository, TreeGuard } from './engine/task-repository.ts';
export type { CopyOptions, CopyResult } from './engine/copy-task.ts';
export type { ResumeAnswer } from './engine/resume-task.ts';
export type { Checkpoint, Idempotency, IdempotentCall } from './idempotency/idempotency.ts';
export type { DurableContext, InputRequest, SpawnedResult, SpawnOptions, SpawnTask } from './engine/durable-types.ts';
export type { TaskStep, TaskSteps, TaskWait } from './tasks/task-wait.ts';
export type { TaskListFilter } from './storage/queries/select-tasks.ts';
export { changeRefused, checkChange, checkNewOwners, isAdmin, mayAccess, mayChange } from './tasks/access.ts';
export { isUnsafeKey, safeAssign, safeMerge, setOwn, unsafeKeyPath, UNSAFE_KEYS } from './internal/safe-merge.ts';
export { checkTaskTree } from './tasks/check-task-tree.ts';
export {
  buildTrees,
  toTaskJson,
  TASK_STATUSES,
  TERMINAL_STATUSES,
  UNFINISHED_STATUSES,
  type TaskDependency,
  type TaskJson,
  type TaskRow,
  type TaskStatus,
  type TaskTreeJson,
} from './tasks/task-record.ts';

// ---- JSON-RPC ----
export type { FallbackAbout, RpcContext, RpcFallback, RpcMethodDefinition } from './rpc/rpc-registry.ts';
export { dispatchRpc, type RpcResponse } from './rpc/rpc-dispatch.ts';

// ---- Errors ----
export { ApflowError, isApflowError, toApflowError, type ApflowErrorOptions } from './errors/apflow-error.ts';
export { errorCatalogue, type ErrorCode } from './errors/error-catalogue.ts';
export { toWireError, type RpcErrorObject } from './http/error-mapping.ts';

// ---- HTTP ----
export { coalesceWrites } from './http/coalesce-writes.ts';
export { createEventBurst } from './http/event-burst.ts';
export { isTrustedOrigin } from './http/page-origin.ts';
export { isSafeMethod } from './http/json-bodies-only.ts';
export { postWithRetries, type Delivery } from './http/post-with-retries.ts';
export type { Outbound, OutboundFetchInit } from './outbound/outbound-policy.ts';
export type { OutboundRules } from './outbound/outbound-rules.ts';
export type { CheckedAddress } from './outbound/checked-connector.ts';
export { refusalDetail, type RefusalDetail } from './outbound/outbound-refusal.ts';
export { isPublicAddress } from './outbound/public-address.ts';
// ---- HTTP types (Fastify's, for plugins that add routes) ----
export type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

// ---- Schemas (TypeBox, re-exported so plugins use the same copy) ----
export { default as Type } from 'typebox';
export type { Static, TSchema } from 'typebox';

// ---- Misc ----
export { describeSchemaErrors } from './internal/schema-errors.ts';
export { raceAbort } from './internal/race-abort.ts';
export { version } from './internal/version.ts';
export type { Logger } from './internal/logger.ts';
export { isRecord } from './internal/is-record.ts';
export { errorMessage } from './internal/error-message.ts';
export type { SecretSealer } from './secrets/secret-sealer.ts';
export { loadOnce } from './internal/load-once.ts';
export { groupCalls } from './internal/group-calls.ts';
