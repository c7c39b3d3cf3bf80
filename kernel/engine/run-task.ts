import { scrubJson, scrubText } from '../internal/scrub-secrets.ts';
import { ApflowError, isApflowError, toApflowError } from '../errors/apflow-error.ts';
import { toJsonValue } from '../internal/to-json-value.ts';
import type { RegisteredExecutor } from '../executors/executor-table.ts';
import type { TaskRunContext } from '../hooks/hook-types.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import { selectExecutor } from '../tasks/select-executor.ts';
import type { TaskWait } from '../tasks/task-wait.ts';
import type { Span } from '@opentelemetry/api';
import { traceExecutor } from '../telemetry/spans.ts';
import { demoRun } from './demo-run.ts';
import { DurableFailure, type Suspension } from './durable-context.ts';
import { RETURNED, type RunEnding } from './run-ending.ts';
import type { RunEngine, RunScope } from './run-scope.ts';
import { TaskContext } from './task-context.ts';

const NOT_RETRYABLE: ReadonlySet<string> = new Set([
  'APF_FORBIDDEN',
  'APF_INVALID_PARAMS',
  'APF_NOT_FOUND',
  'APF_UNAUTHENTICATED',
]);

/** How a run ended. `retryable` is false for failures a retry cannot fix (no executor, bad inputs). */
export type RunOutcome =
  | { status: 'completed'; result: unknown }
  | { status: 'failed'; error: string; retryable: boolean }
  | { status: 'aborted' }
  | { status: 'suspended'; suspension: Suspension };

/**
 * Runs one claimed task: picks its executor, checks the inputs, passes the `taskRun` hook
 * (before/after), and calls `execute` under `ending` (the engine losing the task aborts it) and
 * `timeoutS` (seconds; none: no limit). Never throws: every ending is a {@link RunOutcome}.
 */
export async function runTask(
  engine: RunEngine,
  task: TaskRow,
  ending: RunEnding,
  timeoutS: number | undefined,
): Promise<RunOutcome> {
  let registered: RegisteredExecutor;
  try {
    registered = selectExecutor(task, engine.executor, engine.executorIds);
  } catch (error) {
    return { status: 'failed', error: toApflowError(error).message, retryable: false };
  }
  // Traced, the executor runs in its span's context: what it calls (HTTP, models) nests under it.
  return traceExecutor(task, registered.definition.id, engine.server, async (span) => {
    const startedAt = performance.now();
    const outcome = await runSelected(engine, task, ending, timeoutS, registered, span);
    tellRan(engine, task, registered.definition.id, outcome, startedAt);
    return outcome;
  });
}

/** Tells the `taskRan` hook's observers how a run ended (not a run cut short: it has no outcome). */
function tellRan(engine: RunEngine, task: TaskRow, executorId: string, outcome: RunOutcome, startedAt: number): void {
  const hook = engine.hooks().taskRan;
  if (outcome.status === 'aborted' || !hook.isUsed()) return;
  try {
    hook.call({
      task_id: task.id,
      root_task_id: task.root_id,
      user_id: task.user_id,
      executor_id: executorId,
      outcome: outcome.status,
      seconds: (performance.now() - startedAt) / 1000,
    });
  } catch (error) {
    engine.log.error({ err: error, task: task.id }, 'a taskRan tap threw; it must not');
  }
}

const timeUp = (ending: RunEnding) => ending.timeOut();

/** Runs `registered` for the task (see {@link runTask}); `span` hears its progress. */
async function runSelected(
  engine: RunEngine,
  task: TaskRow,
  ending: RunEnding,
  timeoutS: number | undefined,
  registered: RegisteredExecutor,
  span: Span | undefined,
): Promise<RunOutcome> {
  const executorId = registered.definition.id;
  const demo = task.run_demo;
  // The keys and secrets this run was given never leave it: they are taken out of its result,
  // error and progress messages.
  let keys: Set<string> | undefined;
  let inputs = task.inputs ?? {};
  // A demo reaches nothing: it never needs the secrets (and never fails for want of them).
  if (engine.secrets && !demo) {
    try {
      const opened = engine.secrets.open(inputs);
      inputs = opened.inputs;
      if (opened.secrets.length) keys = new Set(opened.secrets);
    } catch (error) {
      return { status: 'failed', error: toApflowError(error).message, retryable: false };
    }
  }
  // Aborted between its launch and this run's start (cancelled, handed back): nothing to run.
  if (!ending.start()) return { status: 'aborted' };
  const hooks = engine.hooks();
  const requestState = engine.requestState(task.root_id);
  const scope: RunScope = { engine, task, executorId, hooks, ending, span, requestState, keys, usage: undefined };
  const timer = timeoutS === undefined ? undefined : setTimeout(timeUp, timeoutS * 1000, ending);

  // Most servers have no taskRun taps: no hook calls (nor their contexts) per task then.
  let run: TaskRunContext | undefined = hooks.taskRun.isUsed()
    ? {
        phase: 'before',
        task_id: task.id,
        root_task_id: task.root_id,
        user_id: task.user_id,
        executor_id: executorId,
        inputs,
        state: {},
      }
    : undefined;
  try {
    if (run) {
      run = await hooks.taskRun.promise(run);
      if (run.refuse) return { status: 'failed', error: run.refuse.message, retryable: false };
    }
    const runInputs = run ? run.inputs : inputs;
    const given = run && 'result' in run && run.result !== undefined ? run : undefined;
    if (!given && !demo) {
      const problems = registered.validate(runInputs);
      if (problems) {
        return {
          status: 'failed',
          error: `Invalid inputs for executor '${executorId}': ${problems.join('; ')}`,
          retryable: false,
        };
      }
    }
    // A durable call that suspends never settles: the run ends with what it waits for.
    const first = ending.first();
    ending.follow(
      given
        ? given.result
        : demo
          ? demoRun(registered, runInputs, new TaskContext(scope), ending.signal)
          : execute(registered, runInputs, new TaskContext(scope)),
    );
    const ended = await first;
    if (ended !== RETURNED) {
      ending.abort(new Error('suspended'));
      // The run is over for the taps too: `after` hears that it waits (no result, no error).
      if (run) await hooks.taskRun.promise({ ...run, phase: 'after', waiting: ended.wait }).catch(() => undefined);
      return {
        status: 'suspended',
        suspension: scope.keys?.size ? { ...ended, wait: scrubJson(ended.wait, scope.keys) as TaskWait } : ended,
      };
    }
    let result = ending.value;
    if (run) result = (await hooks.taskRun.promise({ ...run, phase: 'after', result })).result;
    const stored = toJsonValue(result === undefined ? null : result);
    return { status: 'completed', result: scope.keys?.size ? scrubJson(stored, scope.keys) : stored };
  } catch (error) {
    if (ending.lost) return { status: 'aborted' };
    let message = ending.timedOut
      ? `Timeout: the task ran longer than ${timeoutS}s`
      : isApflowError(error) || error instanceof Error
        ? error.message
        : String(error);
    if (run) {
      // An `after` tap may rewrite the error (e.g. scrub a secret a provider echoed).
      // The tap sees the message that would be stored (an executor's plain Error keeps its text).
      const failed = isApflowError(error) ? error : new ApflowError('APF_INTERNAL', { message, cause: error });
      const after = await hooks.taskRun.promise({ ...run, phase: 'after', error: failed }).catch(() => undefined);
      if (after?.error && after.error.message !== failed.message) message = after.error.message;
    }
    // A refusal or a bad request fails the same way every time: retrying it only wastes time.
    const retryable = error instanceof DurableFailure ? false : !isApflowError(error) || !NOT_RETRYABLE.has(error.code);
    message ||= 'the executor failed without a message';
    return { status: 'failed', error: scope.keys ? scrubText(message, scope.keys) : message, retryable };
  } finally {
    clearTimeout(timer);
    ending.stop();
    if (scope.usage) await scope.usage.settled();
  }
}

/** Calls the executor; what it throws at once is its failure, as what it rejects with. */
function execute(registered: RegisteredExecutor, inputs: unknown, ctx: TaskContext): unknown {
  try {
    return registered.definition.execute(inputs as never, ctx);
  } catch (error) {
    return Promise.reject(error);
  }
}
