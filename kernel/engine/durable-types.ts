import type { TaskStatus } from '../tasks/task-record.ts';
import type { TaskInput } from '../tasks/build-task-tree.ts';

/** A question `ctx.askInput` asks (see docs/durable-runs.md). */
export interface InputRequest {
  /** What the person or agent answering is asked. */
  prompt: string;
  /** JSON Schema (or TypeBox) the answer must match; `tasks.resume` refuses an answer that does not. */
  schema?: Record<string, unknown>;
  /** Seconds to wait for an answer; then `default`, or the task fails. */
  timeout_s?: number;
  /** The answer when the timeout passes (without it, the timeout fails the task). */
  default?: unknown;
  /** Names the question among the executor's calls (default: its order, `input:1`, `input:2`, …). */
  name?: string;
}

/** A task `ctx.spawn` adds under the running task: as in `tasks.create` (ids are references only). */
export type SpawnTask = TaskInput;

/** Options of `ctx.spawn` and `ctx.map`. */
export interface SpawnOptions {
  /** `false`: return every child's outcome instead of failing when one did not complete. */
  required?: boolean;
  /** Names the spawn among the executor's calls (default: its order). */
  name?: string;
}

/** How one spawned child ended. */
export interface SpawnedResult {
  task_id: string;
  name: string;
  status: TaskStatus;
  result: unknown;
  error: string | null;
}

/**
 * The durable calls of an executor's context. An executor using them may be run more than once
 * for one task: what they stored is replayed, so code between them must be safe to run again
 * (put side effects in `step`).
 */
export interface DurableContext {
  /** Runs `fn` once per run of the task and stores its (JSON) value; a later run gets the stored value. */
  step<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
  /** Suspends the task (`input_required`) until `tasks.resume`, an A2A reply, the dashboard or MCP answers. */
  askInput<T = unknown>(request: InputRequest): Promise<T>;
  /** Adds children under this task, suspends until they end, and returns their outcomes in order. */
  spawn(tasks: readonly SpawnTask[], options?: SpawnOptions): Promise<SpawnedResult[]>;
  /** `spawn(items.map(toTask))`. */
  map<I>(
    items: readonly I[],
    toTask: (item: I, index: number) => SpawnTask,
    options?: SpawnOptions,
  ): Promise<SpawnedResult[]>;
  /** Suspends the task for `seconds` (no slot, no lease held; any server resumes it). */
  sleep(seconds: number): Promise<void>;
  /** Suspends the task until `date`. */
  sleepUntil(date: Date | string | number): Promise<void>;
}
