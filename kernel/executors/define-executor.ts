import type { Static, TSchema } from 'typebox';
import type { DurableContext } from '../engine/durable-types.ts';
import type { Logger } from '../internal/logger.ts';
import type { Outbound } from '../outbound/outbound-policy.ts';
import type { TaskJson } from '../tasks/task-record.ts';
import type { UsageReport } from '../usage/usage-types.ts';

/**
 * What an executor gets besides its inputs; the durable calls (`step`, `askInput`, `spawn`,
 * `map`, `sleep`, `sleepUntil`) are described in docs/durable-runs.md.
 */
export interface ExecutorContext extends DurableContext {
  task_id: string;
  root_task_id: string;
  user_id: string | null;
  /** The task as stored (the original's 20 keys). */
  task: Readonly<Omit<TaskJson, 'waiting'>>;
  /** The task's `params` (executor settings such as CrewAI `works`). */
  params: Readonly<Record<string, unknown>>;
  /** Aborted when the task is cancelled or times out. */
  signal: AbortSignal;
  /** Reports progress (0..1) with an optional message to every stream. */
  progress(progress: number, message?: string): void;
  /**
   * Asks the `keyResolve` hook for an LLM key (request header, user config, environment);
   * without a provider it is detected from the model name (see `detectProvider`). A key given
   * here is taken out of the run's result and error (`***`) before they are stored.
   */
  resolveKey(provider: string | undefined, model?: string): Promise<string | undefined>;
  /**
   * The outbound policy: every network target the task names (a URL, a host) must be reached
   * through it (`ctx.outbound.fetch(url)`, or `ctx.outbound.checkHost(host, port)` for other
   * protocols), so the task cannot make the server call loopback, private or metadata addresses.
   */
  outbound: Outbound;
  /**
   * Reports the tokens of one LLM call (`{ provider?, model, input_tokens, output_tokens }`): stored
   * with the task, priced by the price table, summed into the task's and the tree's `token_usage`,
   * the user's day (`tasks.usage`), metrics and quotas. Call it once per request to the model.
   * Throws APF_INVALID_PARAMS for a report that is not one.
   */
  usage(report: UsageReport): void;
  log: Logger;
}

/** An executor: the code that runs one kind of task. */
export interface ExecutorDefinition<S extends TSchema = TSchema> {
  /** Unique id; tasks select it with `schemas.method`, `params.executor_id` or their name. */
  id: string;
  /** Display name; defaults to the id. */
  name?: string;
  description?: string;
  /** TypeBox (or plain JSON Schema) for the inputs, checked before `execute` runs. */
  inputSchema?: S;
  /** Runs the task; the returned value becomes the task's result. */
  execute(inputs: Static<S>, ctx: ExecutorContext): unknown;
  /**
   * Inputs that hold secrets (passwords, keys, tokens), as dotted paths (`password`,
   * `smtp.password`); a path naming an object or array covers every string inside it. The kernel
   * stores their values sealed (never in the clear in the database), hands the executor the
   * plain values, and replaces any of them in the result, the error and progress messages by
   * `***`.
   */
  secretInputs?: readonly string[];
  /** Result returned instead of running when the task runs in demo mode. */
  demoResult?(inputs: Static<S>, ctx: ExecutorContext): unknown;
}

/**
 * Types an executor. Returns its argument unchanged; a file in an executors folder
 * default-exports one (or an array of them).
 *
 * @example
 * export default defineExecutor({
 *   id: 'hello',
 *   inputSchema: Type.Object({ name: Type.String() }),
 *   async execute(inputs) { return { greeting: `hello ${inputs.name}` }; },
 * });
 */
export function defineExecutor<S extends TSchema>(definition: ExecutorDefinition<S>): ExecutorDefinition<S> {
  return definition;
}
