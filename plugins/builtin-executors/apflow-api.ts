import { ApflowError, defineExecutor, raceAbort, Type, type ExecutorContext, type Static } from 'apflow';
import { clip, createRemote, ID, type Remote } from './apflow-api-client.ts';
import { followRun, type RemoteOutcome } from './apflow-api-follow.ts';
import { createRelay } from './apflow-api-relay.ts';
import { startRun, type RemoteRun } from './apflow-api-start.ts';
import { deadline, MAX_TIMEOUT_S } from './deadline.ts';

const Inputs = Type.Object({
  base_url: Type.String({ pattern: '^https?://', description: 'The remote apflow server, e.g. http://host:8000' }),
  method: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'The remote JSON-RPC method (default tasks.execute). tasks.execute and execute_task_tree run a tree and follow it; any other (tasks.create, tasks.get, tasks.cancel, system.health…) is one call',
    }),
  ),
  params: Type.Optional(
    Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Array(Type.Unknown())], {
      description: "The method's params, e.g. {tasks: [...]} or {task_id}",
    }),
  ),
  auth_token: Type.Optional(Type.String({ description: 'A JWT of the remote server, sent as Authorization: Bearer' })),
  use_streaming: Type.Optional(Type.Boolean({ description: 'Follow the run by its event stream (default true)' })),
  wait_for_completion: Type.Optional(
    Type.Boolean({ description: 'Wait for the remote run to end (default true); false answers once it started' }),
  ),
  poll_interval: Type.Optional(
    Type.Number({ minimum: 0.1, maximum: 3600, description: 'Seconds between polls (default 1, at least 0.1)' }),
  ),
  timeout: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: MAX_TIMEOUT_S,
      description: 'Seconds for the whole call (default 300); then the run is cancelled',
    }),
  ),
  headers: Type.Optional(Type.Record(Type.String(), Type.String())),
});
type Inputs = Static<typeof Inputs>;

const RUN_METHODS = new Set(['tasks.execute', 'execute_task_tree']);
/** Seconds the request that starts a remote run may take to name it (it outlives a cancel: see runRemote). */
const START_LIMIT_S = 30;
/** Seconds the cancel sent to the remote may take. */
const CANCEL_LIMIT_S = 10;

/**
 * `apflow_api_executor`: calls another apflow server the way a client does. `tasks.execute` (the
 * default) and `execute_task_tree` start a tree there, follow it by its event stream (or by
 * polling `tasks.get`), relay its progress, cancel it there when this task is cancelled or times
 * out, and return the remote task's result; a remote failure fails this task with its error.
 * Any other method is one JSON-RPC call. Every request goes through the outbound policy.
 */
export const apflowApiExecutor = defineExecutor({
  id: ID,
  name: 'apflow API call',
  description:
    'Runs a task tree on another apflow server (or calls any of its JSON-RPC methods) and returns the remote result',
  inputSchema: Inputs,
  secretInputs: ['auth_token', 'headers'],
  async execute(inputs, ctx) {
    const remote = createRemote(ctx, inputs);
    const method = inputs.method ?? 'tasks.execute';
    const timeoutS = inputs.timeout ?? 300;
    const timeout = deadline(timeoutS);
    const signal = AbortSignal.any([ctx.signal, timeout.signal]);
    const base = { base_url: remote.base, method };
    try {
      if (!RUN_METHODS.has(method))
        return { success: true, ...base, result: await remote.call(method, inputs.params ?? {}, signal) };
      return await runRemote(remote, inputs, method, ctx, signal);
    } catch (error) {
      if (timeout.passed && !ctx.signal.aborted)
        throw new ApflowError('APF_UNAVAILABLE', {
          message: `${ID}: ${method} on ${remote.base} did not finish within ${timeoutS}s (timeout); its remote run was cancelled`,
        });
      throw error;
    } finally {
      timeout.clear();
    }
  },
  demoResult(inputs) {
    const method = inputs.method ?? 'tasks.execute';
    const base = { base_url: inputs.base_url.replace(/\/+$/, ''), method };
    if (!RUN_METHODS.has(method))
      return { success: true, ...base, result: null, note: 'demo: no remote server was called' };
    return {
      success: true,
      ...base,
      remote_task_id: 'demo-remote-task',
      remote_root_task_id: 'demo-remote-task',
      status: inputs.wait_for_completion === false ? 'started' : 'completed',
      progress: inputs.wait_for_completion === false ? 0 : 1,
      result: { message: 'Demo result of a remote task tree' },
      note: 'demo: no remote server was called',
    };
  },
});

/** Starts the run, follows it unless told not to wait, and cancels it there when this task stops. */
async function runRemote(remote: Remote, inputs: Inputs, method: string, ctx: ExecutorContext, signal: AbortSignal) {
  const starting = startRun(remote, method, inputs.params ?? {}, START_LIMIT_S);
  let run: RemoteRun;
  try {
    run = await raceAbort(starting, signal);
  } catch (error) {
    // A start still in flight is left to name its run, which is then cancelled: never an orphan.
    if (signal.aborted)
      void starting.then(
        (begun) => {
          begun.close();
          return cancelRemote(remote, begun, ctx);
        },
        () => undefined,
      );
    throw error;
  }
  const ids = { base_url: remote.base, method, remote_task_id: run.taskId, remote_root_task_id: run.rootId };
  if (inputs.wait_for_completion === false) {
    run.close();
    return { success: true, ...ids, status: 'started', progress: 0 };
  }
  if (signal.aborted) {
    run.close();
    await cancelRemote(remote, run, ctx);
    signal.throwIfAborted();
  }
  const stop = () => {
    run.close();
    void cancelRemote(remote, run, ctx);
  };
  signal.addEventListener('abort', stop, { once: true });
  let outcome: RemoteOutcome;
  try {
    const relay = createRelay(ctx, taskCount(inputs.params));
    outcome = await followRun(remote, run, {
      streaming: inputs.use_streaming !== false,
      pollS: inputs.poll_interval ?? 1,
      signal,
      relay,
      log: ctx.log,
    });
  } catch (error) {
    // The cancel was sent by `stop`; wait for it so the remote has stopped when this task fails.
    if (signal.aborted) await cancelled.get(run);
    throw error;
  } finally {
    signal.removeEventListener('abort', stop);
    run.close();
  }
  if (outcome.status !== 'completed')
    throw new ApflowError('APF_UNAVAILABLE', {
      message: `${ID}: the remote task ${run.taskId} ${outcome.status} on ${remote.base}: ${clip(outcome.error ?? 'no error message')}`,
    });
  return { success: true, ...ids, ...outcome };
}

const cancelled = new WeakMap<RemoteRun, Promise<void>>();

/** Cancels the remote tree (once), with its own time limit: this task's signal is aborted already. */
function cancelRemote(remote: Remote, run: RemoteRun, ctx: ExecutorContext): Promise<void> {
  let sent = cancelled.get(run);
  if (!sent) {
    const reason = ctx.signal.aborted ? 'the calling task was cancelled or timed out' : 'its timeout passed';
    sent = remote
      .call(
        'tasks.cancel',
        { task_ids: [run.rootId], error_message: `Cancelled by ${ID}: ${reason}` },
        AbortSignal.timeout(CANCEL_LIMIT_S * 1000),
      )
      .then(
        () => ctx.log.info({ root_task_id: run.rootId, base_url: remote.base }, `${ID}: remote tree cancelled`),
        (error: unknown) =>
          ctx.log.warn(
            { root_task_id: run.rootId, base_url: remote.base, err: error },
            `${ID}: the remote tree could not be cancelled`,
          ),
      );
    cancelled.set(run, sent);
  }
  return sent;
}

/** How many tasks `params` sends to be created and run (0 when it names a stored task). */
function taskCount(params: Inputs['params']): number {
  if (Array.isArray(params)) return params.length;
  return Array.isArray(params?.tasks) && params.task_id === undefined ? params.tasks.length : 0;
}
