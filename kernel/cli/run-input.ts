import { ApflowError } from '../errors/apflow-error.ts';
import { isRecord } from '../internal/is-record.ts';
import { parseJson, readJsonFile, readTasks, type TaskInput } from './read-input.ts';

/** Where `run flow` takes its tasks from: its flags, read but not yet checked. */
export interface TaskSource {
  executorId?: string;
  /** --tasks: a JSON array (or `{"tasks": [...]}`). */
  tasks?: string;
  /** --tasks-file (or `apflow run FILE`): a path, `-` for standard input. */
  tasksFile?: string;
  /** --inputs: the one executor's inputs, a JSON object. */
  inputs?: string;
  /** --inputs-file: the same, from a file (`-`: standard input). */
  inputsFile?: string;
}

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });

/**
 * The tasks `run flow` creates: the array of --tasks / --tasks-file, or (the original's legacy
 * form) EXECUTOR_ID with its --inputs as one task `{"name": "Execute <id>", "schemas":
 * {"method": <id>}, "inputs": {…}}`. Flags that cannot go together are an error naming them.
 */
export function readTaskSource(source: TaskSource): TaskInput[] {
  const given = (Object.keys(source) as (keyof TaskSource)[]).filter((key) => source[key] !== undefined);
  if (source.tasks !== undefined && source.tasksFile !== undefined)
    throw invalid('give the tasks once: --tasks JSON or --tasks-file PATH, not both');
  if (source.inputs !== undefined && source.inputsFile !== undefined)
    throw invalid('give the inputs once: --inputs JSON or --inputs-file PATH, not both');
  const many = source.tasks ?? source.tasksFile;
  if (many !== undefined) {
    if (source.executorId !== undefined)
      throw invalid(
        `EXECUTOR_ID ('${source.executorId}') and --tasks/--tasks-file cannot go together: the tasks name their executors (schemas.method)`,
      );
    if (source.inputs !== undefined || source.inputsFile !== undefined)
      throw invalid('--inputs/--inputs-file go with EXECUTOR_ID (one task); with --tasks each task has its inputs');
    const parsed =
      source.tasks !== undefined ? parseJson(source.tasks, '--tasks') : readJsonFile(source.tasksFile as string);
    return readTasks(parsed, source.tasks !== undefined ? '--tasks' : (source.tasksFile as string));
  }
  if (source.executorId === undefined)
    throw invalid(
      given.length === 0
        ? "run flow needs what to run: EXECUTOR_ID [--inputs JSON], --tasks JSON, --tasks-file PATH or --task-id ID (see 'apflow run flow --help')"
        : '--inputs/--inputs-file need EXECUTOR_ID: apflow run flow EXECUTOR_ID --inputs JSON',
    );
  const inputs =
    source.inputs !== undefined
      ? parseJson(source.inputs, '--inputs')
      : source.inputsFile !== undefined
        ? readJsonFile(source.inputsFile)
        : {};
  if (!isRecord(inputs))
    throw invalid(`the inputs must be a JSON object (${JSON.stringify(inputs)?.slice(0, 60)} is not)`);
  const id = source.executorId;
  return [{ name: `Execute ${id}`, schemas: { method: id }, inputs }];
}

/**
 * The tasks split into their root groups, in order: each task without a parent starts a group
 * with its descendants (the original ran each group as a tree of its own). Tasks no root reaches
 * stay with the first group, where the server says what is wrong with them.
 */
export function rootGroups(tasks: TaskInput[]): TaskInput[][] {
  const roots = tasks.filter((task) => !task.parent_id);
  if (roots.length <= 1) return [tasks];
  const children = new Map<unknown, TaskInput[]>();
  for (const task of tasks) {
    if (!task.parent_id) continue;
    children.set(task.parent_id, [...(children.get(task.parent_id) ?? []), task]);
  }
  const placed = new Set<TaskInput>();
  const groups = roots.map((root) => {
    const members = new Set<TaskInput>();
    const visit = (task: TaskInput) => {
      if (members.has(task) || placed.has(task)) return;
      members.add(task);
      placed.add(task);
      if (task.id !== undefined && task.id !== null) for (const child of children.get(task.id) ?? []) visit(child);
    };
    visit(root);
    return tasks.filter((task) => members.has(task));
  });
  const stray = tasks.filter((task) => !placed.has(task));
  if (stray.length > 0) groups[0] = [...(groups[0] ?? []), ...stray];
  return groups;
}
