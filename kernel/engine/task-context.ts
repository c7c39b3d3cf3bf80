import { detectProvider } from '../executors/detect-provider.ts';
import type { ExecutorContext } from '../executors/define-executor.ts';
import type { Logger } from '../internal/logger.ts';
import { scrubJson, scrubText } from '../internal/scrub-secrets.ts';
import type { UsageReport } from '../usage/usage-types.ts';
import { createRunUsage } from '../usage/run-usage.ts';
import { DurableCalls } from './durable-context.ts';
import type { RunScope } from './run-scope.ts';

/**
 * The context an executor gets for one run ({@link ExecutorContext}). Its own properties are the
 * context's, enumerable, in a fixed order (an executor may spread it into another's context); the
 * costly parts are made on first use: the durable calls' memory, `signal`, `log`, the usage of
 * its LLM calls. A class with shared accessors: an object literal with getters is made slowly and
 * in dictionary mode, and most executors never use these parts.
 */
export class TaskContext implements ExecutorContext {
  declare step: ExecutorContext['step'];
  declare askInput: ExecutorContext['askInput'];
  declare sleep: ExecutorContext['sleep'];
  declare sleepUntil: ExecutorContext['sleepUntil'];
  declare spawn: ExecutorContext['spawn'];
  declare map: ExecutorContext['map'];
  declare task_id: string;
  declare root_task_id: string;
  declare user_id: string | null;
  declare task: ExecutorContext['task'];
  declare params: ExecutorContext['params'];
  declare signal: AbortSignal;
  declare progress: ExecutorContext['progress'];
  declare outbound: ExecutorContext['outbound'];
  declare usage: ExecutorContext['usage'];
  declare resolveKey: ExecutorContext['resolveKey'];
  declare log: Logger;
  readonly #scope: RunScope;
  #calls: DurableCalls | undefined = undefined;
  #log: Logger | undefined = undefined;

  /** `signal` and `log`: own and enumerable, as a plain object's, made when first read. */
  static readonly #signalProperty: PropertyDescriptor = {
    get(this: TaskContext) {
      return this.#scope.ending.signal;
    },
    // It was a plain property: an executor may still set it.
    set(this: TaskContext, value: unknown) {
      Object.defineProperty(this, 'signal', { value, writable: true, enumerable: true, configurable: true });
    },
    enumerable: true,
    configurable: true,
  };
  static readonly #logProperty: PropertyDescriptor = {
    get(this: TaskContext) {
      const { engine, task, executorId } = this.#scope;
      return (this.#log ??= engine.log.child({ task_id: task.id, executor: executorId }));
    },
    enumerable: true,
    configurable: true,
  };

  constructor(scope: RunScope) {
    this.#scope = scope;
    const { task, engine } = scope;
    // The order of the properties is the order executors always saw.
    this.step = (name, fn) => this.#durable().step(name, fn);
    this.askInput = (request) => this.#durable().askInput(request);
    this.sleep = (seconds) => this.#durable().sleep(seconds);
    this.sleepUntil = (date) => this.#durable().sleepUntil(date);
    this.spawn = (tasks, options) => this.#durable().spawn(tasks, options);
    this.map = (items, toTask, options) => this.#durable().map(items, toTask, options);
    this.task_id = task.id;
    this.root_task_id = task.root_id;
    this.user_id = task.user_id;
    this.task = task;
    this.params = task.params ?? {};
    Object.defineProperty(this, 'signal', TaskContext.#signalProperty);
    this.progress = (progress, message) => reportProgress(scope, progress, message);
    this.outbound = engine.outbound;
    this.usage = (report) => reportUsage(scope, report);
    this.resolveKey = (provider, model) => resolveKey(scope, provider, model);
    Object.defineProperty(this, 'log', TaskContext.#logProperty);
  }

  /** The durable calls, made on the first (their memory is a copy of the task's steps). */
  #durable(): DurableCalls {
    if (this.#calls) return this.#calls;
    const scope = this.#scope;
    const { engine, task, ending } = scope;
    // Methods, not arrows: under keepNames (tsx) an arrow made per call is renamed per call.
    return (this.#calls = new DurableCalls({
      task,
      save(steps) {
        return engine.save(task, steps);
      },
      read: engine.read,
      scrub(value) {
        return scope.keys?.size ? scrubJson(value, scope.keys) : value;
      },
      ...(engine.secrets ? { seal: engine.secrets.seal } : {}),
      abort: ending,
      suspend(suspension) {
        ending.suspend(suspension);
      },
      maxTreeSize: engine.maxTreeSize,
    }));
  }
}

/** `ctx.progress`: its message without the run's secrets, on the span and to every stream. */
function reportProgress(scope: RunScope, progress: number, message: string | undefined): void {
  const said = message && (scope.keys ? scrubText(message, scope.keys) : message);
  scope.span?.addEvent('progress', { progress, ...(said ? { message: said } : {}) });
  scope.engine.progress(scope.task, progress, said);
}

/** `ctx.usage`: the run's LLM calls, made with the first. */
function reportUsage(scope: RunScope, report: UsageReport): void {
  scope.usage ??= createRunUsage(scope.engine.usage, scope.task, scope.engine.log);
  scope.usage.report(report);
}

/** `ctx.resolveKey`: a key given here is one of the run's secrets. */
async function resolveKey(scope: RunScope, provider: string | undefined, model?: string): Promise<string | undefined> {
  const { task } = scope;
  const key = await scope.hooks.keyResolve.promise({
    provider: provider ?? detectProvider(model),
    model,
    user_id: task.user_id,
    task_id: task.id,
    root_task_id: task.root_id,
    request_state: scope.requestState,
  });
  if (key) (scope.keys ??= new Set()).add(key);
  return key;
}
