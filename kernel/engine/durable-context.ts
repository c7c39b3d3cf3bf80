import { Compile } from 'typebox/compile';
import { ApflowError } from '../errors/apflow-error.ts';
import { errorMessage } from '../internal/error-message.ts';
import { hasNul, toJsonValue } from '../internal/to-json-value.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import type { TaskStep, TaskSteps, TaskWait } from '../tasks/task-wait.ts';
import type { InputRequest, SpawnOptions, SpawnedResult, DurableContext, SpawnTask } from './durable-types.ts';
import { spawnRows } from './spawn-rows.ts';

/** How a run ended by waiting: what it waits for, its memory so far, and the tasks it spawns. */
export interface Suspension {
  wait: TaskWait;
  steps: TaskSteps;
  spawned?: TaskRow[];
}

/** What the durable calls need from the run they belong to. */
export interface DurableRun {
  task: TaskRow;
  /** Stores the memory durably (guarded by this run's lease); rejects when the run lost its task. */
  save(steps: TaskSteps): Promise<void>;
  /** Reads tasks by id (the children a spawn added). */
  read(ids: readonly string[]): Promise<TaskRow[]>;
  /** Takes the run's secrets out of a value before it is stored. */
  scrub(value: unknown): unknown;
  /** Seals a spawned task's secret inputs (its executor's `secretInputs`) before it is stored. */
  seal?: (row: TaskRow) => Record<string, unknown> | null;
  /** The run's abort: once it aborted (cancelled, timed out, lost), no durable call does anything. */
  abort: { readonly aborted: boolean };
  /** Ends the run by waiting (called once, by the first call that suspends). */
  suspend(suspension: Suspension): void;
  maxTreeSize: number;
}

/**
 * A failure of a durable call that a retry of the task would meet again (its children failed, its
 * question timed out): the task fails without its retries.
 */
export class DurableFailure extends Error {
  constructor(
    message: string,
    /** The spawned children's outcomes, when children failed. */
    readonly results?: SpawnedResult[],
  ) {
    super(message);
  }
}

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });
const never = () => new Promise<never>(() => undefined);
const ENDED = new Set(['completed', 'failed', 'cancelled']);
/** The longest durable sleep: a year. */
const MAX_SLEEP_S = 366 * 86_400;

/**
 * The durable half of an executor's context (`step`, `askInput`, `sleep`, `spawn`): an executor
 * is a function that may be run again, so each call looks up what an earlier run of the same
 * task stored under its key and replays it; what is not stored yet runs (a step) or suspends the
 * run (a wait). Suspending calls `run.suspend` and never settles the call: the executor's code
 * after it runs only in a later run, once what it waits for happened. Made on an executor's first
 * durable call (most never make one); a class so that its methods are not made again per run.
 */
export class DurableCalls implements DurableContext {
  readonly #run: DurableRun;
  readonly #steps: TaskSteps;
  readonly #counters = { input: 0, sleep: 0, spawn: 0 };
  #waiting = false;

  constructor(run: DurableRun) {
    this.#run = run;
    this.#steps = structuredClone(run.task.steps ?? {});
  }

  async step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    if (typeof name !== 'string' || name === '') throw invalid('ctx.step needs a name (a non-empty string)');
    const steps = this.#steps;
    const key = `step:${name}`;
    const stored = steps[key];
    if (stored && 'step' in stored) return stored.step as T;
    if (this.#over()) return never();
    const done = await fn();
    if (this.#over()) return never();
    const value = this.#run.scrub(toJsonValue(done, `step '${name}'`));
    steps[key] = { step: value };
    await this.#run.save(structuredClone(steps));
    return value as T;
  }

  async askInput<T = unknown>(request: InputRequest): Promise<T> {
    const { prompt, schema, timeout_s: timeoutS } = checkRequest(request);
    const steps = this.#steps;
    const key = this.#keyOf('input', request.name);
    const stored = steps[key];
    if (stored && 'answer' in stored) return stored.answer as T;
    if (this.#over()) return never();
    const hasDefault = request.default !== undefined;
    const now = Date.now();
    const asked = stored && 'asked_at' in stored ? stored : undefined;
    const timeoutAt =
      asked?.timeout_at ?? (timeoutS === undefined ? undefined : new Date(now + timeoutS * 1000).toISOString());
    if (timeoutAt !== undefined && Date.parse(timeoutAt) <= now) {
      if (!hasDefault)
        throw new DurableFailure(
          `no answer to "${prompt}" within ${timeoutS ?? 'the'}${timeoutS === undefined ? '' : 's'} timeout`,
        );
      steps[key] = { answer: request.default, by: null };
      await this.#run.save(structuredClone(steps));
      return request.default as T;
    }
    const step = {
      asked_at: asked?.asked_at ?? new Date(now).toISOString(),
      ...(timeoutAt ? { timeout_at: timeoutAt } : {}),
    };
    return this.#wait(
      { key, step },
      {
        kind: 'input',
        key,
        prompt,
        ...(schema ? { schema } : {}),
        ...(timeoutAt ? { timeout_at: timeoutAt } : {}),
        has_default: hasDefault,
      },
    );
  }

  sleep(seconds: number): Promise<void> {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0 || seconds > MAX_SLEEP_S)
      throw invalid(`ctx.sleep needs a number of seconds from 0 to ${MAX_SLEEP_S} (got ${String(seconds)})`);
    return this.#sleepTill(this.#keyOf('sleep', undefined), Date.now() + seconds * 1000);
  }

  sleepUntil(date: Date | string | number): Promise<void> {
    const at = new Date(date).getTime();
    if (Number.isNaN(at) || at > Date.now() + MAX_SLEEP_S * 1000)
      throw invalid(`ctx.sleepUntil needs a date at most ${MAX_SLEEP_S / 86_400} days ahead (got ${String(date)})`);
    return this.#sleepTill(this.#keyOf('sleep', undefined), at);
  }

  async spawn(tasks: readonly SpawnTask[], options: SpawnOptions = {}): Promise<SpawnedResult[]> {
    const run = this.#run;
    const key = this.#keyOf('spawn', options.name);
    const stored = this.#steps[key];
    if (this.#over()) return never();
    if (stored && 'task_ids' in stored) {
      const rows = new Map((await run.read(stored.task_ids)).map((row) => [row.id, row]));
      const open = stored.task_ids.filter((id) => !ENDED.has(rows.get(id)?.status ?? 'cancelled'));
      if (open.length) return this.#wait({ key, step: stored }, { kind: 'children', key, task_ids: stored.task_ids });
      return resultsOf(stored.task_ids, rows, options.required !== false);
    }
    if (!Array.isArray(tasks)) throw invalid('ctx.spawn needs an array of tasks');
    if (tasks.length === 0) return [];
    if (hasNul(JSON.stringify(tasks)))
      throw invalid('ctx.spawn: a task holds the character U+0000, which cannot be stored');
    const rows = spawnRows(run.task, tasks, run.maxTreeSize).map((row) =>
      run.seal ? { ...row, inputs: run.seal(row) } : row,
    );
    const ids = rows.filter((row) => row.parent_id === run.task.id).map((row) => row.id);
    return this.#wait({ key, step: { task_ids: ids } }, { kind: 'children', key, task_ids: ids }, rows);
  }

  map<I>(
    items: readonly I[],
    toTask: (item: I, index: number) => SpawnTask,
    options?: SpawnOptions,
  ): Promise<SpawnedResult[]> {
    if (!Array.isArray(items)) throw invalid('ctx.map needs an array of items');
    return this.spawn(items.map(toTask), options);
  }

  #keyOf(kind: 'input' | 'sleep' | 'spawn', name: string | undefined): string {
    return `${kind}:${name ?? String(++this.#counters[kind])}`;
  }

  /**
   * A run that suspended or was aborted is over: its executor may still be awaiting something
   * else, but nothing it asks for afterwards runs or is stored (a later run owns the task).
   */
  #over(): boolean {
    return this.#waiting || this.#run.abort.aborted;
  }

  #wait(entry: { key: string; step: TaskStep }, on: TaskWait, spawned?: TaskRow[]): Promise<never> {
    this.#steps[entry.key] = entry.step;
    if (!this.#waiting) {
      this.#waiting = true;
      this.#run.suspend({ wait: on, steps: structuredClone(this.#steps), ...(spawned ? { spawned } : {}) });
    }
    return never();
  }

  async #sleepTill(key: string, at: number): Promise<void> {
    const stored = this.#steps[key];
    if (this.#over()) return never();
    const until = stored && 'until' in stored ? stored.until : new Date(at).toISOString();
    if (Date.parse(until) <= Date.now()) {
      if (!stored) {
        this.#steps[key] = { until };
        await this.#run.save(structuredClone(this.#steps));
      }
      return;
    }
    return this.#wait({ key, step: { until } }, { kind: 'sleep', key, until });
  }
}

/** The request checked: a prompt, a JSON Schema that compiles, a positive timeout. */
function checkRequest(request: InputRequest): InputRequest {
  if (!request || typeof request !== 'object')
    throw invalid('ctx.askInput needs { prompt, schema?, timeout_s?, default? }');
  if (typeof request.prompt !== 'string' || request.prompt.trim() === '')
    throw invalid('ctx.askInput needs a prompt (a non-empty string)');
  if (hasNul(JSON.stringify([request.prompt, request.schema ?? null, request.default ?? null])))
    throw invalid('ctx.askInput: the question holds the character U+0000, which cannot be stored');
  if (request.schema !== undefined) {
    if (!request.schema || typeof request.schema !== 'object' || Array.isArray(request.schema))
      throw invalid('ctx.askInput: schema must be a JSON Schema object');
    try {
      Compile(request.schema as never);
    } catch (error) {
      throw invalid(`ctx.askInput: the schema is not a valid JSON Schema: ${errorMessage(error)}`);
    }
  }
  const timeout = request.timeout_s;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0))
    throw invalid(`ctx.askInput: timeout_s must be a number of seconds > 0 (got ${String(timeout)})`);
  return request;
}

/** The spawned children's results, in the order given; a failed or cancelled one fails the call when required. */
function resultsOf(ids: readonly string[], rows: ReadonlyMap<string, TaskRow>, required: boolean): SpawnedResult[] {
  const results = ids.map((id): SpawnedResult => {
    const row = rows.get(id);
    return {
      task_id: id,
      name: row?.name ?? '',
      status: row?.status ?? 'cancelled',
      result: row?.result ?? null,
      error: row ? row.error : 'the task is gone',
    };
  });
  const bad = results.filter((result) => result.status !== 'completed');
  if (required && bad.length) {
    const list = bad.map(
      (result) => `${result.name || result.task_id} ${result.status}${result.error ? `: ${result.error}` : ''}`,
    );
    throw new DurableFailure(
      `${bad.length} of ${results.length} spawned tasks did not complete: ${list.join('; ')}`,
      results,
    );
  }
  return results;
}
