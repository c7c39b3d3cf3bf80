import { ApflowError, isApflowError } from '../errors/apflow-error.ts';
import type { Hooks } from '../hooks/hooks.ts';
import type { RequestContext, TaskEvent } from '../hooks/hook-types.ts';
import type { Logger } from '../internal/logger.ts';
import { startExecuteSpan } from '../telemetry/spans.ts';
import { buildTrees, type TaskRow, type TaskTreeJson } from '../tasks/task-record.ts';
import type { RunToBegin } from './begin-runs.ts';
import { createTree, prepareTree, type CreateTreeOptions } from './create-tree.ts';
import type { EngineCore } from './engine-core.ts';
import type { ExecuteAnswer } from './execute-answer.ts';
import type { Following } from './follow-tree.ts';
import { TreesNotInserted } from './insert-new-trees.ts';
import { passRunStart } from './run-start.ts';
import { awaitOutcome, type TreeOutcome } from './run-outcome.ts';
import type { TaskRepository } from './task-repository.ts';
import type { WorkLoop } from './work-loop.ts';

/** A tree to create and run at once: `engine.execute({ tasks })`. */
export interface NewTree extends Pick<CreateTreeOptions, 'userId' | 'exactIds'> {
  /** The tasks array, as `createTree` takes it. */
  tasks: unknown;
}

/** How a run is asked for: in demo mode, on behalf of a request. */
export interface ExecuteOptions {
  request?: RequestContext;
  demo?: boolean;
}

/** What {@link executeRun} needs of the engine. */
export interface ExecuteDeps {
  core: EngineCore;
  loop: WorkLoop;
  repo: TaskRepository;
  hooks: () => Hooks;
  log: Logger;
  follow: (rootId: string, after: number, onEvent: (event: TaskEvent) => void) => Following;
  /** Roots of runs begun here that have not ended yet. */
  begunHere: Set<string>;
}

/**
 * Runs a stored tree (`taskId`: a root runs the whole tree, another task itself and its
 * dependencies), or creates one and runs it (`{ tasks }`). A new tree is inserted in the same
 * transaction that begins its run — one commit where creating and executing take two — unless
 * `runStart` taps must see it stored first, or an id was taken meanwhile: then it is created the
 * ordinary way first (taken ids get fresh ones). The answer names the new tree (`tree`).
 */
export async function executeRun(
  deps: ExecuteDeps,
  target: string | NewTree,
  options: ExecuteOptions,
): Promise<ExecuteAnswer & { tree?: TaskTreeJson }> {
  const { core, repo } = deps;
  if (core.mode === 'closing') throw new ApflowError('APF_UNAVAILABLE', { message: 'The server is shutting down' });
  if (typeof target === 'string') return runTree(deps, target, options);
  const createOptions = {
    ...(target.userId === undefined ? {} : { userId: target.userId }),
    ...(target.exactIds ? { exactIds: true } : {}),
    ...(options.request ? { request: options.request } : {}),
  };
  const storedFirst = async () => {
    const tree = await createTree(core, repo, target.tasks, createOptions);
    try {
      return { ...(await runTree(deps, tree.id, options)), tree };
    } catch (error) {
      // Refused before it began (a `runStart` tap: a spent budget): the tree was made for this
      // run alone, and goes with it, as if created and begun in one transaction. (A failure of
      // the database may have come after the run began: that tree stays.)
      if (!isApflowError(error)) throw error;
      await repo.delete(treeIds(tree));
      core.scopes.delete(tree.id);
      throw error;
    }
  };
  if (deps.hooks().runStart.isUsed()) return storedFirst();
  const { rows } = await prepareTree(core, repo, target.tasks, createOptions, false);
  if (core.secrets) for (const row of rows) row.inputs = core.secrets.seal(row);
  try {
    const answer = await runTree(deps, (rows[0] as TaskRow).id, options, rows);
    // Nested on first read (an RPC answer's serialisation reads it): a caller in the process that
    // does not want it (the engine's own callers, a 10,000-task tree) does not build it.
    let tree: TaskTreeJson | undefined;
    return Object.defineProperty(answer, 'tree', {
      enumerable: true,
      get: () => (tree ??= buildTrees(rows)[0] as TaskTreeJson),
    }) as ExecuteAnswer & { tree: TaskTreeJson };
  } catch (error) {
    if (error instanceof TreesNotInserted) return storedFirst();
    throw error;
  }
}

/** Begins a run of the tree of `taskId` (inserting `create` first, when given) with the next turn. */
async function runTree(
  deps: ExecuteDeps,
  taskId: string,
  options: ExecuteOptions,
  create?: readonly TaskRow[],
): Promise<ExecuteAnswer> {
  const { core, loop, repo, log, begunHere } = deps;
  const pinned = options.request?.pin !== undefined || core.mode !== 'server';
  const gate = create
    ? { demo: options.demo === true, after: async () => undefined }
    : await passRunStart({ hooks: deps.hooks(), repo, log }, taskId, {
        ...(options.request ? { request: options.request } : {}),
        demo: options.demo === true,
      });
  const span = startExecuteSpan(taskId, options.request);
  const begin: RunToBegin = {
    taskId,
    pinnedTo: pinned ? core.owner : null,
    demo: gate.demo,
    traceParent: span.traceParent,
    ...('refuseUnlessRunning' in gate && gate.refuseUnlessRunning
      ? { refuseUnlessRunning: gate.refuseUnlessRunning }
      : {}),
    ...(create ? { create } : {}),
  };
  let done: Promise<TreeOutcome> | undefined;
  const run = await loop
    .begin(begin, (begun) => {
      if (!begun.begun) return;
      begunHere.add(begun.rootId);
      if (options.request) core.scopes.set(begun.rootId, options.request.state);
      // The follower lives as long as the run (tasks may wait for days): it keeps the ids,
      // never the rows the run began with (the engine's memory drops those when a task waits).
      const { rootId, runId, memory: _rows, ...rest } = begun;
      done = awaitOutcome({ repo, follow: deps.follow, log }, taskId, { ...rest, rootId, runId }, () => {
        begunHere.delete(rootId);
        core.scopes.delete(rootId);
        core.memory.drop(rootId, runId);
      });
    })
    .catch(async (error: unknown) => {
      // Nothing began: the taps give back what they counted for it.
      span.end({ 'apflow.begun': false });
      await gate.after(false);
      throw error;
    });
  span.end(run.begun ? { 'apflow.root_task.id': run.rootId, 'apflow.run.id': run.runId } : { 'apflow.begun': false });
  await gate.after(run.begun);
  if (!run.begun && 'refused' in run) throw run.refused;
  if (!run.begun && run.missing) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${taskId} not found` });
  if (!run.begun || !done) return { started: false, root_task_id: run.rootId, task_id: taskId };
  return { started: true, root_task_id: run.rootId, task_id: taskId, first_seq: run.firstSeq, done };
}

const treeIds = (tree: TaskTreeJson): string[] => [tree.id, ...(tree.children ?? []).flatMap(treeIds)];
