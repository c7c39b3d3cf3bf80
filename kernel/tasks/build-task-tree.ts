import { randomUUID } from 'node:crypto';
import { ApflowError } from '../errors/apflow-error.ts';
import { UNCLAIMED, type TaskDependency, type TaskRow } from './task-record.ts';
import { checkTreeShape } from './check-tree-shape.ts';

/** A task as a client sends it to create a tree. */
export interface TaskInput {
  id?: string;
  name: string;
  parent_id?: string | null;
  user_id?: string | null;
  priority?: number;
  dependencies?: (string | { id?: string; name?: string; required?: boolean; type?: string })[] | null;
  inputs?: Record<string, unknown> | null;
  params?: Record<string, unknown> | null;
  schemas?: Record<string, unknown> | null;
  original_task_id?: string | null;
}

/** Options of {@link buildTaskTree}. */
export interface BuildTreeOptions {
  /** Ids already in the database: such a task gets a fresh UUID (references are remapped). */
  taken?: ReadonlySet<string>;
  /** Owner to stamp when the tasks name none. */
  defaultUserId?: string | null;
  /** The most tasks one tree may hold. */
  maxTasks?: number;
  now?: string;
}

/** The longest task name accepted. */
const MAX_NAME = 1000;

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });

/**
 * Checks a tasks array with the original's rules (reference/original-apflow.md §2.1) and
 * returns the rows to insert, root first. Every problem is reported before anything is stored.
 */
export function buildTaskTree(input: unknown, options: BuildTreeOptions = {}): TaskRow[] {
  const tasks = Array.isArray(input) ? input : input && typeof input === 'object' ? [input] : null;
  if (!tasks) throw invalid('tasks must be an array of task objects');
  if (tasks.length === 0) throw invalid('Tasks array cannot be empty');
  const max = options.maxTasks ?? 100_000;
  if (tasks.length > max) throw invalid(`A tree holds at most ${max} tasks; got ${tasks.length}`);
  tasks.forEach(checkTaskFields);
  const typed = tasks as TaskInput[];

  const withId = typed.filter((task) => task.id !== undefined && task.id !== null);
  if (withId.length > 0 && withId.length < typed.length) {
    const missing = typed.flatMap((task, i) => (task.id === undefined || task.id === null ? [i] : []));
    throw invalid(
      `Mixed mode not supported: either every task has an 'id' or none does (no id at index ${missing.join(', ')})`,
    );
  }
  const byIds = withId.length > 0;
  const keys = typed.map((task) => (byIds ? String(task.id) : task.name));
  const seen = new Map<string, number>();
  keys.forEach((key, i) => {
    if (seen.has(key)) {
      throw invalid(
        byIds
          ? `Duplicate task id '${key}' at index ${i}`
          : `Duplicate task name '${key}' at index ${i} (without ids, names are the references and must be unique)`,
      );
    }
    seen.set(key, i);
  });

  const userIds = new Set(typed.map((task) => task.user_id).filter((id): id is string => typeof id === 'string'));
  if (userIds.size > 1)
    throw invalid(`All tasks must have the same user_id. Found multiple user_ids: ${[...userIds].join(', ')}`);
  const userId = [...userIds][0] ?? options.defaultUserId ?? null;

  const dependencies = typed.map((task, i) => normaliseDependencies(task, i, keys[i] as string, seen));
  const parents = typed.map((task, i) => {
    if (task.parent_id === undefined || task.parent_id === null) return null;
    const parent = String(task.parent_id);
    if (!seen.has(parent))
      throw invalid(`Task '${keys[i]}' at index ${i}: parent_id '${parent}' is not in the tasks array`);
    if (parent === keys[i]) throw invalid(`Task '${keys[i]}' at index ${i} cannot be its own parent`);
    return parent;
  });
  const rootIndex = checkTreeShape(
    keys,
    parents,
    dependencies,
    typed.map((task) => task.name),
  );

  const ids = new Map(keys.map((key) => [key, freshId(byIds ? key : undefined, options.taken)] as const));
  const idOf = (key: string) => ids.get(key) as string;
  const rootId = idOf(keys[rootIndex] as string);
  const now = options.now ?? new Date().toISOString();
  const parentKeys = new Set(parents.filter((parent): parent is string => parent !== null));
  const rows = typed.map((task, i): TaskRow => ({
    id: idOf(keys[i] as string),
    parent_id: parents[i] ? idOf(parents[i] as string) : null,
    user_id: userId,
    name: task.name,
    status: 'pending',
    priority: task.priority ?? 1,
    dependencies: dependencies[i]?.length
      ? (dependencies[i] as TaskDependency[]).map((dep) => ({ ...dep, id: idOf(dep.id) }))
      : null,
    inputs: task.inputs ?? {},
    params: task.params ?? null,
    result: null,
    error: null,
    schemas: task.schemas ?? null,
    progress: 0,
    created_at: now,
    started_at: null,
    updated_at: now,
    completed_at: null,
    has_children: parentKeys.has(keys[i] as string),
    original_task_id: task.original_task_id ?? null,
    has_copy: false,
    root_id: rootId,
    position: i,
    ...UNCLAIMED,
  }));
  return [rows[rootIndex] as TaskRow, ...rows.filter((_, i) => i !== rootIndex)];
}

function checkTaskFields(task: unknown, i: number): void {
  if (typeof task !== 'object' || task === null || Array.isArray(task))
    throw invalid(`Task at index ${i} must be an object`);
  const t = task as Record<string, unknown>;
  if (typeof t.name !== 'string' || t.name.trim() === '') throw invalid(`Task at index ${i} must have a 'name' field`);
  if (t.name.length > MAX_NAME) throw invalid(`Task at index ${i}: 'name' must be at most ${MAX_NAME} characters`);
  const optional: [string, (v: unknown) => boolean, string][] = [
    [
      'id',
      (v) => typeof v === 'string' && v.length > 0 && v.length <= 255,
      'a non-empty string of at most 255 characters',
    ],
    ['parent_id', (v) => typeof v === 'string', 'a string'],
    ['user_id', (v) => typeof v === 'string' && v.length <= 255, 'a string of at most 255 characters'],
    [
      'priority',
      (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1_000_000,
      'a whole number from 0 (most urgent)',
    ],
    ['dependencies', Array.isArray, 'an array'],
    ['inputs', isObject, 'an object'],
    ['params', isObject, 'an object'],
    ['schemas', isObject, 'an object'],
    ['original_task_id', (v) => typeof v === 'string' && v.length <= 255, 'a string of at most 255 characters'],
  ];
  for (const [key, ok, expected] of optional) {
    if (t[key] !== undefined && t[key] !== null && !ok(t[key]))
      throw invalid(`Task at index ${i}: '${key}' must be ${expected}`);
  }
}

function normaliseDependencies(
  task: TaskInput,
  i: number,
  key: string,
  known: ReadonlyMap<string, number>,
): TaskDependency[] {
  return (task.dependencies ?? []).map((dep) => {
    const ref = typeof dep === 'string' ? dep : isObject(dep) ? (dep.id ?? dep.name) : undefined;
    if (typeof ref !== 'string' || ref === '')
      throw invalid(`Task '${key}' at index ${i}: each dependency needs an 'id' or 'name'`);
    if (!known.has(ref)) throw invalid(`Task '${key}' at index ${i}: dependency '${ref}' is not in the tasks array`);
    const required = typeof dep === 'object' && dep.required !== undefined ? dep.required : true;
    if (typeof required !== 'boolean')
      throw invalid(`Task '${key}' at index ${i}: dependency '${ref}' has a non-boolean 'required'`);
    const type = typeof dep === 'object' && typeof dep.type === 'string' ? dep.type : 'result';
    return { id: ref, required, type };
  });
}

function freshId(given: string | undefined, taken: ReadonlySet<string> | undefined): string {
  if (given !== undefined && !taken?.has(given)) return given;
  return randomUUID();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
