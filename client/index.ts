/**
 * `apflow/client`: a typed client of an apflow server for Node ≥ 20 and browsers (docs/client.md).
 */
export {
  createClient,
  type ApflowClient,
  type BoundMethod,
  type ExecuteOptions,
  type ExecuteTarget,
  type MethodBindings,
} from './create-client.ts';
export type { ClientOptions, CallOptions, WebSocketClass } from './transport.ts';
export type { ExecutionStream } from './execute-stream.ts';
export type { FollowOptions } from './follow-events.ts';
export type { SubscribeOptions } from './ws-subscribe.ts';
export type {
  ApflowMethods,
  ExecuteAnswer,
  ExecuteStarted,
  ExecutorInfo,
  MethodName,
  OpenQuestion,
  ParamsOf,
  ResultOf,
  RunAnswer,
  TaskChanges,
  TaskWithCounts,
} from './method-types.ts';
export { METHODS, type MethodInfo } from './method-table.ts';
export {
  ApflowClientError,
  ApflowConnectionError,
  ApflowRpcError,
  ApflowTimeoutError,
  AuthenticationError,
  ConflictError,
  InvalidParamsError,
  MethodNotFoundError,
  NotFoundError,
  PermissionError,
  QuotaExceededError,
  RateLimitError,
} from './errors.ts';
export type {
  ModelUsage,
  TaskCounts,
  TaskEvent,
  TaskEventType,
  TaskJson,
  TaskTreeJson,
  TaskWait,
  TokenUsage,
  UsageDay,
} from 'apflow';
