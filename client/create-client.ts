import type { TaskEvent } from 'apflow';
import { executeStream, type ExecutionStream } from './execute-stream.ts';
import { followEvents, type FollowOptions } from './follow-events.ts';
import { METHODS, type MethodInfo } from './method-table.ts';
import type { ApflowMethods, ExecuteAnswer, ExecuteStarted, MethodName, ParamsOf, ResultOf } from './method-types.ts';
import { anySignal, callMethod, createTransport, type CallOptions, type ClientOptions } from './transport.ts';
import { subscribeEvents, type SubscribeOptions } from './ws-subscribe.ts';

/** A bound method: its params (optional when none is required), call options, its typed result. */
export type BoundMethod<M extends MethodName> = (
  ...args: undefined extends ParamsOf<M>
    ? [params?: ParamsOf<M>, options?: CallOptions]
    : Record<never, never> extends ParamsOf<M>
      ? [params?: ParamsOf<M>, options?: CallOptions]
      : [params: ParamsOf<M>, options?: CallOptions]
) => Promise<ResultOf<M>>;

type Nest<Path extends string, Leaf> = Path extends `${infer Head}.${infer Rest}`
  ? { [K in Head]: Nest<Rest, Leaf> }
  : { [K in Path]: Leaf };
type Merge<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void ? I : never;

/** One function per method, nested by the dots of its name: `client.tasks.running.list(…)`. */
export type MethodBindings = Merge<{ [M in MethodName]: Nest<M, BoundMethod<M>> }[MethodName]>;

/** What to run: a stored tree's task id, or the tasks of a new tree. */
export type ExecuteTarget = string | Record<string, unknown>[];

/** Options of {@link ApflowClient.execute}. */
export interface ExecuteOptions extends CallOptions {
  /** Answer with a stream of the run's events instead of waiting for its end. */
  stream?: boolean;
  /** More params of tasks.execute (`use_demo`, `copy_execution`, `webhook_config`…). */
  params?: Omit<ParamsOf<'tasks.execute'>, 'task_id' | 'tasks' | 'use_streaming'>;
}

/** A client of one apflow server. */
export type ApflowClient = MethodBindings & {
  /** Any JSON-RPC method (a plugin's too): `endpoint` is `tasks` (default), `system` or `` (POST /). */
  call<M extends MethodName>(method: M, params?: ParamsOf<M>, options?: CallOptions): Promise<ResultOf<M>>;
  call(method: string, params?: unknown, options?: CallOptions & { endpoint?: string }): Promise<unknown>;
  /** Runs a tree and answers how it ended (or the questions it stopped at). */
  execute(target: ExecuteTarget, options?: ExecuteOptions & { stream?: false }): Promise<ExecuteAnswer>;
  /** Runs a tree and streams its events, ending with `final`; a dropped stream is followed on. */
  execute(target: ExecuteTarget, options: ExecuteOptions & { stream: true }): ExecutionStream;
  /**
   * Starts a tree's run and answers as soon as it began (`root_task_id`, `last_event_id`), without
   * waiting for its end; the run goes on on the server (follow it with `follow` or `subscribe`).
   */
  start(target: ExecuteTarget, options?: Omit<ExecuteOptions, 'stream'>): Promise<ExecuteStarted>;
  /** The events of a task's tree over Server-Sent Events, from after `lastEventId`, ending with `final`. */
  follow(taskId: string, options?: FollowOptions): AsyncGenerator<TaskEvent>;
  /** The same events over the WebSocket (`/ws`), from after `lastSeq`. */
  subscribe(taskId: string, options?: SubscribeOptions): AsyncGenerator<TaskEvent>;
};

/**
 * A typed client of an apflow server, for Node ≥ 20 and browsers:
 * `const apflow = createClient({ baseUrl: 'http://localhost:8000', token })`, then
 * `await apflow.tasks.get({ task_id })`, `for await (const event of apflow.execute(tasks, { stream: true }))`.
 */
export function createClient(options: ClientOptions): ApflowClient {
  const transport = createTransport(options);
  const info = (method: string): MethodInfo | undefined => (METHODS as Record<string, MethodInfo>)[method];
  const call = (method: string, params?: unknown, callOptions: CallOptions & { endpoint?: string } = {}) => {
    const known = info(method);
    const endpoint = callOptions.endpoint ?? known?.endpoint ?? 'tasks';
    const retry = known?.retry === 'read' || (known?.retry === 'keyed' && callOptions.idempotencyKey !== undefined);
    return callMethod(transport, endpoint, method, params, callOptions, retry);
  };

  const client: Record<string, unknown> = {
    call,
    execute(target: ExecuteTarget, executeOptions: ExecuteOptions = {}) {
      const { stream, params: extra, ...callOptions } = executeOptions;
      const params = { ...extra, ...(typeof target === 'string' ? { task_id: target } : { tasks: target }) };
      if (stream) return executeStream(transport, 'tasks', 'tasks.execute', params, callOptions);
      return call('tasks.execute', params, callOptions);
    },
    async start(target: ExecuteTarget, startOptions: Omit<ExecuteOptions, 'stream'> = {}) {
      // A streamed execute answers once the run began; then letting go of the stream leaves the run going.
      const stopped = new AbortController();
      const signal = startOptions.signal ? anySignal(startOptions.signal, stopped.signal) : stopped.signal;
      const stream = (client.execute as ApflowClient['execute'])(target, { ...startOptions, signal, stream: true });
      try {
        return await stream.started;
      } finally {
        stopped.abort();
      }
    },
    follow: (taskId: string, followOptions?: FollowOptions) => followEvents(transport, taskId, followOptions),
    subscribe: (taskId: string, subscribeOptions?: SubscribeOptions) =>
      subscribeEvents(transport, taskId, subscribeOptions),
  };
  for (const method of Object.keys(METHODS)) {
    const path = method.split('.');
    let node = client;
    for (const part of path.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1] as string] = (params?: unknown, callOptions?: CallOptions) =>
      call(method, params, callOptions);
  }
  return client as ApflowClient;
}

export type { ApflowMethods };
