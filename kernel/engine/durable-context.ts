import { Compile } from 'typebox/compile';
import { ApflowError } from '../errors/apflow-error.ts';
import { errorMessage } from '../internal/error-message.ts';
import { toJsonValue } from '../internal/to-json-value.ts';
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
  maxTreeSize: number;
}

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });
const ENDED = new Set(['completed', 'failed', 'cancelled']);

/**
 * The durable half of an executor's context (`step`, `askInput`, `sleep`, `spawn`): an executor
 * is a function that may be run again, so each call looks up what an earlier run of the same
 * task stored under its key and replays it; what is not stored yet runs (a step) or suspends the
 * run (a wait). Suspending resolves `suspended` and never settles the call: the executor's code
 * after it runs only in a later run, once what it waits for happened.
 */
export function createDurableContext(run: DurableRun): {
  api: DurableContext;
  suspended: Promise<Suspension>;
} {
  const steps: TaskSteps = structuredClone(run.task.steps ?? {});
  const counters = { input: 0, sleep: 0, spawn: 0 };
  let suspend!: (suspension: Suspension) => void;
  let waiting = false;
  const suspended = new Promise<Suspension>((resolve) => (suspend = resolve));
  const keyOf = (kind: keyof typeof counters, name: string | undefined) =>
    `${kind}:${name ?? String(++counters[kind])}`;

  const wait = (entry: { key: string; step: TaskStep }, on: TaskWait, spawned?: TaskRow[]): Promise<never> => {
    steps[entry.key] = entry.step;
    if (!waiting) {
      waiting = true;
      suspend({ wait: on, steps: structuredClone(steps), ...(spawned ? { spawned } : {}) });
    }
    return new Promise<never>(() => undefined);
  };

  const api: DurableContext = {
    async step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
      if (typeof name !== 'string' || name === '') throw invalid('ctx.step needs a name (a non-empty string)');
      const key = `step:${name}`;
      const stored = steps[key];
      if (stored && 'step' in stored) return stored.step as T;
      const value = run.scrub(toJsonValue(await fn(), `step '${name}'`));
      steps[key] = { step: value };
      await run.save(structuredClone(steps));
      return value as T;
    },

    async askInput<T = unknown>(request: InputRequest): Promise<T> {
      const { prompt, schema, timeout_s: timeoutS } = checkRequest(request);
      const key = keyOf('input', request.name);
      const stored = steps[key];
      if (stored && 'answer' in stored) return stored.answer as T;
      const now = Date.now();
      const asked = stored && 'asked_at' in stored ? stored : undefined;
      const timeoutAt =
        asked?.timeout_at ?? (timeoutS === undefined ? undefined : new Date(now + timeoutS * 1000).toISOString());
      if (timeoutAt !== undefined && Date.parse(timeoutAt) <= now) {
        if (!('default' in request))
          throw new Error(
            `no answer to "${prompt}" within ${timeoutS ?? 'the'}${timeoutS === undefined ? '' : 's'} timeout`,
          );
        steps[key] = { answer: request.default, by: null };
        await run.save(structuredClone(steps));
        return request.default as T;
      }
      const step = {
        asked_at: asked?.asked_at ?? new Date(now).toISOString(),
        ...(timeoutAt ? { timeout_at: timeoutAt } : {}),
      };
      return wait(
        { key, step },
        {
          kind: 'input',
          key,
          prompt,
          ...(schema ? { schema } : {}),
          ...(timeoutAt ? { timeout_at: timeoutAt } : {}),
          has_default: 'default' in request,
        },
      );
    },

    sleep(seconds: number): Promise<void> {
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0)
        throw invalid(`ctx.sleep needs a number of seconds >= 0 (got ${String(seconds)})`);
      return sleepTill(keyOf('sleep', undefined), Date.now() + seconds * 1000);
    },

    sleepUntil(date: Date | string | number): Promise<void> {
      const at = new Date(date).getTime();
      if (Number.isNaN(at)) throw invalid(`ctx.sleepUntil needs a date (got ${String(date)})`);
      return sleepTill(keyOf('sleep', undefined), at);
    },

    async spawn(tasks: readonly SpawnTask[], options: SpawnOptions = {}): Promise<SpawnedResult[]> {
      const key = keyOf('spawn', options.name);
      const stored = steps[key];
      if (stored && 'task_ids' in stored) {
        const rows = new Map((await run.read(stored.task_ids)).map((row) => [row.id, row]));
        const open = stored.task_ids.filter((id) => !ENDED.has(rows.get(id)?.status ?? 'cancelled'));
        if (open.length) return wait({ key, step: stored }, { kind: 'children', key, task_ids: stored.task_ids });
        return resultsOf(stored.task_ids, rows, options.required !== false);
      }
      if (!Array.isArray(tasks)) throw invalid('ctx.spawn needs an array of tasks');
      if (tasks.length === 0) return [];
      const rows = spawnRows(run.task, tasks, run.maxTreeSize);
      const ids = rows.filter((row) => row.parent_id === run.task.id).map((row) => row.id);
      return wait({ key, step: { task_ids: ids } }, { kind: 'children', key, task_ids: ids }, rows);
    },

    map<I>(items: readonly I[], toTask: (item: I, index: number) => SpawnTask, options?: SpawnOptions) {
      if (!Array.isArray(items)) throw invalid('ctx.map needs an array of items');
      return api.spawn(items.map(toTask), options);
    },
  };

  const sleepTill = async (key: string, at: number): Promise<void> => {
    const stored = steps[key];
    const until = stored && 'until' in stored ? stored.until : new Date(at).toISOString();
    if (Date.parse(until) <= Date.now()) {
      if (!stored) {
        steps[key] = { until };
        await run.save(structuredClone(steps));
      }
      return;
    }
    return wait({ key, step: { until } }, { kind: 'sleep', key, until });
  };

  return { api, suspended };
}

/** The request checked: a prompt, a JSON Schema that compiles, a positive timeout. */
function checkRequest(request: InputRequest): InputRequest {
  if (!request || typeof request !== 'object')
    throw invalid('ctx.askInput needs { prompt, schema?, timeout_s?, default? }');
  if (typeof request.prompt !== 'string' || request.prompt.trim() === '')
    throw invalid('ctx.askInput needs a prompt (a non-empty string)');
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
    throw Object.assign(
      new Error(`${bad.length} of ${results.length} spawned tasks did not complete: ${list.join('; ')}`),
      {
        results,
      },
    );
  }
  return results;
}
