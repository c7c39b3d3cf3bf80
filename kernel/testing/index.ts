/**
 * apflow's kit for testing executors (`apflow/testing`): runs one executor, or a small tree, on
 * an in-memory apflow (SQLite `:memory:`, no server, no files) and gives back its outcome, its
 * tasks as stored and every event, so a project tests its executors without a server.
 *
 * @example
 * import { runExecutor } from 'apflow/testing';
 * import hello from './hello.ts';
 * const run = await runExecutor(hello, { name: 'Ada' });
 * assert.deepEqual(run.result, { greeting: 'hello Ada' });
 */
import { Writable } from 'node:stream';
import { createApp, type App } from '../app/create-app.ts';
import type { UserConfig } from '../config/config-schema.ts';
import type { ExecutorDefinition } from '../executors/define-executor.ts';
import type { TaskEvent } from '../hooks/hook-types.ts';
import { listBuiltinPlugins } from '../loader/resolve-plugins.ts';
import { toTaskJson, type TaskJson } from '../tasks/task-record.ts';
import type { TaskWait } from '../tasks/task-wait.ts';

/** What a run gave. */
export interface TestRun {
  /** The outcome of the task run: `completed`, `failed` or `cancelled`. */
  status: string;
  /** That task's result (what its executor returned), or null. */
  result: unknown;
  /** That task's error message, or null. */
  error: string | null;
  /** Every task of the tree as stored after the run, root first, in creation order. */
  tasks: TaskJson[];
  /** Every event of the run, in order (`task_start`, `progress`, `task_completed`, …, `final`). */
  events: TaskEvent[];
}

/** How to run. */
export interface TestRunOptions {
  /** Executors to offer besides the built-in ones (`rest_executor`, `command_executor`, …). */
  executors?: readonly ExecutorDefinition[];
  /** Demo mode: executors give their `demoResult` and nothing is really run. */
  demo?: boolean;
  /** More configuration (e.g. `outbound`, `executors.dirs`, `plugins`); merged over the kit's. */
  config?: UserConfig;
  /**
   * Answers to the questions tasks ask (`ctx.askInput`): by task name, or a function of the
   * question. Without one, a question ends the run with an error saying what was asked.
   */
  answers?: Record<string, unknown> | ((question: TestQuestion) => unknown);
}

/** A question a task asked during a test run. */
export interface TestQuestion {
  task_id: string;
  name: string;
  prompt: string;
  schema?: Record<string, unknown>;
}

/** Runs `executor` once on `inputs` (a one-task tree; `params` as the task's params). */
export function runExecutor(
  executor: ExecutorDefinition,
  inputs: Record<string, unknown> = {},
  options: TestRunOptions & { params?: Record<string, unknown> } = {},
): Promise<TestRun> {
  const task = { id: 'task', name: executor.id, schemas: { method: executor.id }, inputs, params: options.params };
  return runTree([task], { ...options, executors: [executor, ...(options.executors ?? [])] });
}

/**
 * Creates the tree `tasks` (the shape `tasks.create` takes) and runs it from its root; the
 * in-memory apflow is closed before this resolves.
 */
export async function runTree(
  tasks: readonly Record<string, unknown>[],
  options: TestRunOptions = {},
): Promise<TestRun> {
  const app = await createApp({
    env: {},
    logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
    executors: options.executors,
    inline: {
      database: { url: 'sqlite::memory:' },
      executors: { dirs: [] },
      log: { level: 'warn' },
      // Only what runs tasks: no routes, examples or background services to start.
      disabled_plugins: listBuiltinPlugins().filter((name) => name !== 'builtin-executors'),
      ...options.config,
    },
  });
  try {
    const root = await app.engine.createTree([...tasks]);
    let unanswered: Error | undefined;
    const stop = app.engine.subscribe((event) => {
      if (event.root_task_id !== root.id || event.type !== 'task_waiting' || event.waiting?.kind !== 'input') return;
      void answerQuestion(app, event.task_id, event.waiting, options.answers).catch((error: unknown) => {
        unanswered ??= error instanceof Error ? error : new Error(String(error));
        void app.engine.cancel([root.id], unanswered.message);
      });
    });
    const answer = await app.engine.execute(root.id, { demo: options.demo === true });
    if (!answer.started) throw new Error(`internal: the tree ${root.id} was running already`);
    const outcome = await answer.done;
    stop();
    if (unanswered) throw unanswered;
    return {
      status: outcome.status,
      result: outcome.result ?? null,
      error: outcome.error ?? null,
      tasks: (await app.tasks.tree(answer.root_task_id)).map(toTaskJson),
      // The run's events, stored with it up to its `final`.
      events: await app.tasks.events(answer.root_task_id, answer.first_seq - 1),
    };
  } finally {
    await app.close();
  }
}

/** Answers one question from `answers` (none, or no answer for it: an error saying what was asked). */
async function answerQuestion(
  app: App,
  taskId: string,
  wait: Extract<TaskWait, { kind: 'input' }>,
  answers: TestRunOptions['answers'],
): Promise<void> {
  const task = await app.tasks.get(taskId);
  const question: TestQuestion = {
    task_id: taskId,
    name: task?.name ?? taskId,
    prompt: wait.prompt,
    ...(wait.schema ? { schema: wait.schema } : {}),
  };
  const input = typeof answers === 'function' ? await answers(question) : answers?.[question.name];
  if (input === undefined)
    throw new Error(
      `task '${question.name}' asked "${question.prompt}" and the test run has no answer for it (answers)`,
    );
  await app.engine.resume(taskId, input);
}
