import {
  ApflowError,
  changeRefused,
  checkNewOwners,
  mayChange,
  toTaskJson,
  type NewTree,
  type PluginApp,
  type Principal,
  type RpcContext,
  type Static,
  type TaskRow,
  type TreeOutcome,
  type Checkpoint,
} from 'apflow';
import {
  CancelParams,
  ExecuteParams,
  idList,
  RunningCountParams,
  RunningListParams,
  RunningStatusParams,
} from './params.ts';
import { listingUser, mayAccess } from './permissions.ts';
import { loadTask } from './read-methods.ts';
import { runTarget } from './ownership.ts';
import { alreadyRunning } from './execute-to-follow.ts';
import { followToAnswer, runToAnswer, type RunStarted, type WaitingOutcome } from './run-to-answer.ts';
import { answerStream, startStream } from './stream-run.ts';
import { idempotent } from './idempotent.ts';
import { webhookHook, webhookRun } from './webhook-run.ts';

/** tasks.execute, tasks.cancel (alias tasks.running.cancel), tasks.running.list|status|count. */
export function registerRunMethods(app: PluginApp): void {
  /** What tasks.execute does for a call: its JSON answer, or the stream it began. */
  const execute = async (params: Static<typeof ExecuteParams>, ctx: RpcContext, checkpoint?: Checkpoint) => {
    const hook = params.webhook_config ? await webhookHook(app, params.webhook_config) : undefined;
    const demo = params.use_demo === true;
    /** Runs `target` (a stored tree's task, or a new tree) and answers. */
    const run = async (target: string | NewTree, originalTaskId?: string) => {
      const original = originalTaskId === undefined ? {} : { original_task_id: originalTaskId };
      if (params.use_streaming) {
        return startStream(
          app,
          ctx,
          target,
          (ids) => ({
            success: true,
            protocol: 'jsonrpc',
            ...ids,
            status: 'started',
            streaming: true,
            ...(hook ? { webhook_url: hook.url } : {}),
            message: 'Task execution started with streaming',
            ...original,
          }),
          hook && ((begun) => hook.watch(begun.rootId, begun.after)),
          demo,
        );
      }
      if (hook) return webhookRun(app, target, hook, original, ctx.request, demo);
      const outcome = await runToAnswer(app, target, ctx, demo, async (begun) =>
        checkpoint?.({ ...begun, ...original }),
      );
      if ('already_running' in outcome) return outcome.already_running;
      return executeAnswer(outcome, originalTaskId);
    };
    // A new tree is created and begun in one transaction.
    if (params.tasks && !params.copy_execution) return run(newTreeFor(params.tasks, ctx));
    let taskId: string;
    let originalTaskId: string | undefined;
    if (params.tasks) {
      taskId = (await createFor(app, params.tasks, ctx)).id;
    } else if (params.task_id && params.copy_execution) {
      taskId = (await loadTask(app, params.task_id, ctx.principal)).id;
    } else if (params.task_id) {
      // An ownerless tree run by a user runs as their own copy; the answer names the copy.
      ({ taskId, originalTaskId } = await runTarget(app, params.task_id, ctx.principal));
    } else {
      throw new ApflowError('APF_INVALID_PARAMS', { message: 'Either task_id or tasks array is required' });
    }
    if (params.copy_execution) {
      const owner = ctx.principal ? { user_id: ctx.principal.user_id } : {};
      const copy = await app.engine.copy(taskId, {
        copy_mode: 'minimal',
        children: params.copy_children ?? false,
        ...owner,
      });
      originalTaskId = taskId;
      taskId = (copy as { id: string }).id;
    }
    return run(taskId, originalTaskId);
  };
  /** A retried tasks.execute whose first attempt is gone: its run is followed, not begun again. */
  const resumeExecute = async (checkpoint: unknown) => {
    const run = checkpoint as RunStarted & { original_task_id?: string };
    return executeAnswer(await followToAnswer(app, run), run.original_task_id);
  };

  app.rpc.method('/tasks', 'tasks.execute', {
    params: ExecuteParams,
    description:
      'Runs a stored task tree (task_id) or creates and runs one (tasks); answers when it ends, or when a task asks for input (status input_required, answer with tasks.resume). A user running an ownerless tree runs their own copy (root_task_id names it)',
    async handler(params, ctx) {
      // A retry with the key follows the first call's run (a stream) or gets its answer.
      const answer = await idempotent(
        app,
        ctx,
        params,
        (checkpoint) => execute(params, ctx, checkpoint),
        resumeExecute,
      );
      return answerStream(app, ctx, answer);
    },
  });

  const cancel = {
    params: CancelParams,
    description: 'Cancels tasks and their unfinished descendants; one result per id',
    async handler(
      params: {
        task_ids?: string | string[];
        context_ids?: string | string[];
        force?: boolean;
        error_message?: string;
      },
      ctx: { principal: Principal | undefined; method: string },
    ) {
      const ids = idList(
        params.task_ids ?? params.context_ids,
        ctx.method,
        params.task_ids === undefined ? 'context_ids' : 'task_ids',
      );
      if (ids.length === 0)
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: 'Invalid params:\n- params.task_ids: is required (an array, or ids separated by commas)',
        });
      const force = params.force ?? false;
      const message = params.error_message ?? (force ? 'Force cancelled by user' : 'Cancelled by user');
      const rows = new Map((await app.tasks.getMany(ids)).map((row) => [row.id, row]));
      const denied = new Set(ids.filter((id) => rows.has(id) && !mayAccess(ctx.principal, rows.get(id)?.user_id)));
      // Cancelling is a change: an ownerless tree is read-only to users (they run copies of it).
      const readOnly = new Set(
        ids.filter((id) => rows.has(id) && !denied.has(id) && !mayChange(ctx.principal, rows.get(id)?.user_id)),
      );
      const results = await app.engine.cancel(
        ids.filter((id) => !denied.has(id) && !readOnly.has(id)),
        message,
      );
      const byId = new Map(results.map((result) => [result.task_id, result]));
      // Someone else's task is answered like an unknown one.
      return ids.map((id) =>
        denied.has(id)
          ? { task_id: id, status: 'failed', message: `Task ${id} not found`, error: 'Task not found', force }
          : readOnly.has(id)
            ? { task_id: id, status: 'failed', message: changeRefused(id).message, error: 'Permission denied', force }
            : { ...byId.get(id), force },
      );
    },
  };
  app.rpc.method('/tasks', 'tasks.cancel', cancel);
  app.rpc.method('/tasks', 'tasks.running.cancel', cancel);

  app.rpc.method('/tasks', 'tasks.running.list', {
    params: RunningListParams,
    description: 'Trees running now (on any server of this database), newest first',
    async handler(params, ctx) {
      const user = listingUser(ctx.principal, params.user_id, 'list');
      const rows = (await runningRoots(app)).filter(
        (row) => (user === undefined || row.user_id === user) && mayAccess(ctx.principal, row.user_id),
      );
      return rows.slice(0, params.limit ?? 100).map(toTaskJson);
    },
  });

  app.rpc.method('/tasks', 'tasks.running.status', {
    params: RunningStatusParams,
    description: 'State of each task id',
    async handler(params, ctx) {
      const ids = idList(
        params.task_ids ?? params.context_ids,
        'tasks.running.status',
        params.task_ids === undefined ? 'context_ids' : 'task_ids',
      );
      if (ids.length === 0)
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: 'Invalid params:\n- params.task_ids: is required (an array, or ids separated by commas)',
        });
      const rows = new Map((await app.tasks.getMany(ids)).map((row) => [row.id, row]));
      const roots = new Map(
        (await app.tasks.getMany([...new Set([...rows.values()].map((row) => row.root_id))])).map((row) => [
          row.id,
          row,
        ]),
      );
      return ids.map((id) => {
        const row = rows.get(id);
        if (!row || !mayAccess(ctx.principal, row.user_id)) return { task_id: id, context_id: id, status: 'not_found' };
        const running = app.engine.isRunning(row.root_id) || roots.get(row.root_id)?.run_state === 'running';
        return {
          task_id: id,
          context_id: id,
          status: row.status,
          progress: row.progress,
          error: row.error,
          is_running: running,
          started_at: row.started_at,
          updated_at: row.updated_at,
        };
      });
    },
  });

  app.rpc.method('/tasks', 'tasks.running.count', {
    params: RunningCountParams,
    description: 'How many trees are running now',
    async handler(params, ctx) {
      const user = listingUser(ctx.principal, params.user_id, 'count');
      const count = (await runningRoots(app)).filter(
        (row) => (user === undefined || row.user_id === user) && mayAccess(ctx.principal, row.user_id),
      ).length;
      return user === undefined ? { count } : { count, user_id: user };
    },
  });
}

/** What creating or running on behalf of a caller needs: who they are, and their request. */
export type Caller = Pick<RpcContext, 'principal' | 'request'>;

/**
 * Creates a tree on behalf of the caller (who may only create their own); the tree keeps the
 * request's plugin state in memory for its run (request-scoped secrets such as an LLM key).
 */
export async function createFor(app: PluginApp, tasks: unknown, caller: Caller) {
  const tree = newTreeFor(tasks, caller);
  return app.engine.createTree(tasks, { userId: tree.userId ?? null, request: caller.request });
}

/** A new tree on behalf of the caller (who may only create their own), to create and run at once. */
export function newTreeFor(tasks: unknown, caller: Pick<Caller, 'principal'>): NewTree {
  checkNewOwners(caller.principal, tasks);
  return { tasks, userId: caller.principal?.user_id ?? null };
}

/** Runs the tree of `taskId` to its end (in demo mode with `demo`), or reports that it is already running. */
export async function runToEnd(app: PluginApp, taskId: string, caller: Caller, demo = false) {
  const answer = await app.engine.execute(taskId, { request: caller.request, demo });
  if (!answer.started) return { already_running: alreadyRunning(answer) };
  return await answer.done;
}

async function runningRoots(app: PluginApp): Promise<TaskRow[]> {
  const ids = new Set([...app.engine.runningRoots(), ...(await app.tasks.runningTrees()).map((lease) => lease.id)]);
  const rows = await app.tasks.getMany([...ids]);
  return rows.sort((a, b) => b.created_at.localeCompare(a.created_at));
}

/** tasks.execute's JSON answer for a run's outcome (or the questions it stopped at). */
function executeAnswer(outcome: TreeOutcome | WaitingOutcome, originalTaskId: string | undefined) {
  const original = originalTaskId === undefined ? {} : { original_task_id: originalTaskId };
  if ('waiting' in outcome)
    return {
      success: true,
      protocol: 'jsonrpc',
      ...outcome,
      ...original,
      message: 'Task execution waiting for input: answer with tasks.resume',
    };
  return {
    success: true,
    protocol: 'jsonrpc',
    root_task_id: outcome.root_task_id,
    task_id: outcome.task_id,
    status: outcome.status,
    progress: outcome.progress,
    ...(outcome.result === undefined ? {} : { result: outcome.result }),
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
    ...original,
    message: `Task execution ${outcome.status}`,
  };
}
