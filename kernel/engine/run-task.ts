import { detectProvider } from '../executors/detect-provider.ts';
import { scrubJson, scrubText } from '../internal/scrub-secrets.ts';
import { ApflowError, isApflowError, toApflowError } from '../errors/apflow-error.ts';
import { raceAbort } from '../internal/race-abort.ts';
import { toJsonValue } from '../internal/to-json-value.ts';
import type { ExecutorContext } from '../executors/define-executor.ts';
import type { RegisteredExecutor } from '../executors/executor-table.ts';
import type { Hooks } from '../hooks/hooks.ts';
import type { TaskRunContext } from '../hooks/hook-types.ts';
import type { Logger } from '../internal/logger.ts';
import type { Outbound } from '../outbound/outbound-policy.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import { selectExecutor } from '../tasks/select-executor.ts';
import type { TaskSecrets } from '../secrets/task-secrets.ts';
import type { TaskWait } from '../tasks/task-wait.ts';
import type { UsageRecorder } from '../usage/record-usage.ts';
import { createRunUsage } from '../usage/run-usage.ts';
import type { Span } from '@opentelemetry/api';
import { traceExecutor } from '../telemetry/spans.ts';
import { createDurableContext, DurableFailure, type DurableRun, type Suspension } from './durable-context.ts';
import type { DurableContext } from './durable-types.ts';

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

/** What running one task needs from the engine. */
export interface RunTaskOptions {
  task: TaskRow;
  signal: AbortSignal;
  /** Seconds before the run is aborted as timed out (none: no limit). */
  timeoutS: number | undefined;
  hooks: Hooks;
  executor: (id: string) => RegisteredExecutor | undefined;
  executorIds: () => string[];
  progress: (progress: number, message?: string) => void;
  /** The state of the request that created or started the tree, while this process holds it. */
  requestState?: Record<string, unknown>;
  /** Demo mode: the executor's `demoResult` (or a stand-in) instead of `execute`. */
  demo?: boolean;
  /** The outbound policy the executor reaches the network through. */
  outbound: Outbound;
  /** Opens the task's sealed secret inputs for the run. */
  secrets?: TaskSecrets;
  /** Stores the LLM calls the executor reports (`ctx.usage`). */
  usage?: UsageRecorder;
  /** The engine running it (its lease owner id), named on its span. */
  server?: string;
  /** What the durable calls (`ctx.step`, `ctx.askInput`, …) need of the engine. */
  durable: Omit<DurableRun, 'task' | 'scrub' | 'signal'>;
  log: Logger;
}

/**
 * Runs one claimed task: picks its executor, checks the inputs, passes the `taskRun` hook
 * (before/after), and calls `execute` under the abort signal and the timeout. Never throws:
 * every ending is a {@link RunOutcome}.
 */
export async function runTask(options: RunTaskOptions): Promise<RunOutcome> {
  const { task } = options;
  let registered: RegisteredExecutor;
  try {
    registered = selectExecutor(task, options.executor, options.executorIds);
  } catch (error) {
    return { status: 'failed', error: toApflowError(error).message, retryable: false };
  }
  // Traced, the executor runs in its span's context: what it calls (HTTP, models) nests under it.
  return traceExecutor(task, registered.definition.id, options.server, (span) =>
    runSelected(options, registered, span),
  );
}

/** Runs `registered` for the task (see {@link runTask}); `span` hears its progress. */
async function runSelected(
  options: RunTaskOptions,
  registered: RegisteredExecutor,
  span: Span | undefined,
): Promise<RunOutcome> {
  const { task, hooks } = options;
  const executorId = registered.definition.id;
  // The keys and secrets this run was given never leave it: they are taken out of its result,
  // error and progress messages.
  const keys = new Set<string>();
  let inputs = task.inputs ?? {};
  // A demo reaches nothing: it never needs the secrets (and never fails for want of them).
  if (options.secrets && !options.demo) {
    try {
      const opened = options.secrets.open(inputs);
      inputs = opened.inputs;
      for (const secret of opened.secrets) keys.add(secret);
    } catch (error) {
      return { status: 'failed', error: toApflowError(error).message, retryable: false };
    }
  }
  const base: TaskRunContext = {
    phase: 'before',
    task_id: task.id,
    root_task_id: task.root_id,
    user_id: task.user_id,
    executor_id: executorId,
    inputs,
    state: {},
  };

  const usage = createRunUsage(options.usage, task, options.log);
  const controller = new AbortController();
  // Aborted between its launch and this run's start (cancelled, handed back): nothing to run.
  if (options.signal.aborted) return { status: 'aborted' };
  const onAbort = () => controller.abort(options.signal.reason);
  options.signal.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer =
    options.timeoutS === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          controller.abort(new Error('timeout'));
        }, options.timeoutS * 1000);

  // Most servers have no taskRun taps: skip the two hook calls per task then.
  const tapped = hooks.taskRun.isUsed();
  let run = base;
  try {
    if (tapped) run = await hooks.taskRun.promise(base);
    if (run.refuse) return { status: 'failed', error: run.refuse.message, retryable: false };
    const durable = createDurableContext({
      ...options.durable,
      task,
      signal: controller.signal,
      scrub: (value) => (keys.size ? scrubJson(value, keys) : value),
    });
    const ctx = makeContext(options, executorId, controller.signal, keys, durable.api, usage.report, span);
    let work: Promise<unknown>;
    if ('result' in run && run.result !== undefined) {
      work = Promise.resolve(run.result);
    } else if (options.demo) {
      work = demoRun(registered, run.inputs, ctx, controller.signal);
    } else {
      const problems = registered.validate(run.inputs);
      if (problems) {
        return {
          status: 'failed',
          error: `Invalid inputs for executor '${executorId}': ${problems.join('; ')}`,
          retryable: false,
        };
      }
      work = Promise.resolve().then(() => registered.definition.execute(run.inputs as never, ctx));
    }
    // A durable call that suspends never settles: the run ends with what it waits for.
    const first = await raceAbort(
      Promise.race([work.then((value) => ({ value })), durable.suspended.then((suspension) => ({ suspension }))]),
      controller.signal,
    );
    if ('suspension' in first) {
      controller.abort(new Error('suspended'));
      const { suspension } = first;
      // The run is over for the taps too: `after` hears that it waits (no result, no error).
      if (tapped)
        await hooks.taskRun.promise({ ...run, phase: 'after', waiting: suspension.wait }).catch(() => undefined);
      return {
        status: 'suspended',
        suspension: keys.size ? { ...suspension, wait: scrubJson(suspension.wait, keys) as TaskWait } : suspension,
      };
    }
    const result = first.value;
    const after = tapped ? await hooks.taskRun.promise({ ...run, phase: 'after', result }) : { result };
    const stored = toJsonValue(after.result === undefined ? null : after.result);
    return { status: 'completed', result: keys.size ? scrubJson(stored, keys) : stored };
  } catch (error) {
    if (options.signal.aborted) return { status: 'aborted' };
    let message = timedOut
      ? `Timeout: the task ran longer than ${options.timeoutS}s`
      : isApflowError(error) || error instanceof Error
        ? error.message
        : String(error);
    if (tapped) {
      // An `after` tap may rewrite the error (e.g. scrub a secret a provider echoed).
      // The tap sees the message that would be stored (an executor's plain Error keeps its text).
      const failed = isApflowError(error) ? error : new ApflowError('APF_INTERNAL', { message, cause: error });
      const after = await hooks.taskRun.promise({ ...run, phase: 'after', error: failed }).catch(() => undefined);
      if (after?.error && after.error.message !== failed.message) message = after.error.message;
    }
    // A refusal or a bad request fails the same way every time: retrying it only wastes time.
    const retryable = error instanceof DurableFailure ? false : !isApflowError(error) || !NOT_RETRYABLE.has(error.code);
    return { status: 'failed', error: scrubText(message || 'the executor failed without a message', keys), retryable };
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onAbort);
    await usage.settled();
  }
}

/** The context an executor gets for this run. */
function makeContext(
  options: RunTaskOptions,
  executorId: string,
  signal: AbortSignal,
  keys: Set<string>,
  durable: DurableContext,
  usage: ExecutorContext['usage'],
  span: Span | undefined,
): ExecutorContext {
  const { task, hooks } = options;
  let log: ExecutorContext['log'] | undefined;
  return {
    ...durable,
    task_id: task.id,
    root_task_id: task.root_id,
    user_id: task.user_id,
    task,
    params: task.params ?? {},
    signal,
    progress: (progress, message) => {
      const said = message && scrubText(message, keys);
      span?.addEvent('progress', { progress, ...(said ? { message: said } : {}) });
      options.progress(progress, said);
    },
    outbound: options.outbound,
    usage,
    resolveKey: async (provider, model) => {
      const key = await hooks.keyResolve.promise({
        provider: provider ?? detectProvider(model),
        model,
        user_id: task.user_id,
        task_id: task.id,
        root_task_id: task.root_id,
        request_state: options.requestState,
      });
      if (key) keys.add(key);
      return key;
    },
    // Made on first use: most executors never log, and a child logger per task adds up.
    get log() {
      return (log ??= options.log.child({ task_id: task.id, executor: executorId }));
    },
  };
}

/** Longest `_demo_sleep` honoured, in seconds (a demo should feel real, not hang). */
const MAX_DEMO_SLEEP_S = 60;

/**
 * Demo mode (the original's `use_demo`): never calls `execute`. The result is the executor's
 * `demoResult(inputs, ctx)` or, without one, a stand-in saying nothing was run; an object result
 * gets `demo_mode: true`. A `_demo_sleep` (seconds) in it is removed and waited for, so a demo
 * shows progress like a real run. Inputs are not checked: a demo never fails on them.
 */
async function demoRun(
  registered: RegisteredExecutor,
  inputs: unknown,
  ctx: ExecutorContext,
  signal: AbortSignal,
): Promise<unknown> {
  const { definition } = registered;
  if (!definition.demoResult) {
    return {
      result: 'Demo execution result',
      demo_mode: true,
      executor: definition.id,
      note: 'no demo result: nothing was run',
    };
  }
  const result = await raceAbort(
    Promise.resolve().then(() => definition.demoResult?.(inputs as never, ctx)),
    signal,
  );
  if (!result || typeof result !== 'object' || Array.isArray(result)) return result;
  const { _demo_sleep: sleep, ...rest } = result as Record<string, unknown>;
  if (typeof sleep === 'number' && sleep > 0) {
    await raceAbort(new Promise((resolve) => setTimeout(resolve, Math.min(sleep, MAX_DEMO_SLEEP_S) * 1000)), signal);
  }
  return { ...rest, demo_mode: true };
}
