import { randomUUID } from 'node:crypto';
import { ApflowError } from '../errors/apflow-error.ts';
import { isRecord } from '../internal/is-record.ts';
import { UNCLAIMED, type TaskRow } from './task-record.ts';
import { checkTreeShape, type ShapeNode } from './check-tree-shape.ts';

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

/** One task of the array being built: its input, reference key, links and the id it will be stored under. */
interface TreeNode extends ShapeNode {
  task: TaskInput;
  index: number;
  id: string;
  parent: TreeNode | null;
  dependencies: { node: TreeNode; required: boolean; type: string }[];
}

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
  checkTaskFields(tasks);

  const withId = tasks.filter((task) => task.id !== undefined && task.id !== null);
  if (withId.length > 0 && withId.length < tasks.length) {
    const missing = tasks.flatMap((task, i) => (task.id === undefined || task.id === null ? [i] : []));
    throw invalid(
      `Mixed mode not supported: either every task has an 'id' or none does (no id at index ${missing.join(', ')})`,
    );
  }
  const byIds = withId.length > 0;
  const nodes = tasks.map((task, index): TreeNode => {
    const key = byIds ? String(task.id) : task.name;
    const id = freshId(byIds ? key : undefined, options.taken);
    return { task, index, key, name: task.name, id, parent: null, dependencies: [] };
  });
  const known = new Map<string, TreeNode>();
  for (const node of nodes) {
    if (known.has(node.key)) {
      throw invalid(
        byIds
          ? `Duplicate task id '${node.key}' at index ${node.index}`
          : `Duplicate task name '${node.key}' at index ${node.index} (without ids, names are the references and must be unique)`,
      );
    }
    known.set(node.key, node);
  }

  const userIds = new Set(tasks.map((task) => task.user_id).filter((id): id is string => typeof id === 'string'));
  if (userIds.size > 1)
    throw invalid(`All tasks must have the same user_id. Found multiple user_ids: ${[...userIds].join(', ')}`);
  const userId = [...userIds][0] ?? options.defaultUserId ?? null;

  for (const node of nodes) node.dependencies = normaliseDependencies(node, known);
  for (const node of nodes) {
    const { task, key, index } = node;
    if (task.parent_id === undefined || task.parent_id === null) continue;
    const parentKey = String(task.parent_id);
    const parent = known.get(parentKey);
    if (!parent) throw invalid(`Task '${key}' at index ${index}: parent_id '${parentKey}' is not in the tasks array`);
    if (parent === node) throw invalid(`Task '${key}' at index ${index} cannot be its own parent`);
    node.parent = parent;
  }
  const root = checkTreeShape(nodes);

  const now = options.now ?? new Date().toISOString();
  const parents = new Set(nodes.map((node) => node.parent));
  const toRow = (node: TreeNode): TaskRow => rowOf(node, root, userId, now, parents.has(node));
  return [toRow(root), ...nodes.filter((node) => node !== root).map(toRow)];
}

function rowOf(node: TreeNode, root: TreeNode, userId: string | null, now: string, hasChildren: boolean): TaskRow {
  const { task, id, parent, dependencies, index } = node;
  return {
    id,
    parent_id: parent ? parent.id : null,
    user_id: userId,
    name: task.name,
    status: 'pending',
    priority: task.priority ?? 1,
    dependencies: dependencies.length
      ? dependencies.map((dep) => ({ id: dep.node.id, required: dep.required, type: dep.type }))
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
    has_children: hasChildren,
    original_task_id: task.original_task_id ?? null,
    has_copy: false,
    root_id: root.id,
    position: index,
    ...UNCLAIMED,
  };
}

/** The optional fields of a task: each one's check, and what the error says it must be. */
const OPTIONAL_FIELDS: readonly (readonly [string, (v: unknown) => boolean, string])[] = [
  [
    'id',
    (v) => typeof v === 'string' && v.length > 0 && v.length <= 255,
    'a non-empty string of at most 255 characters',
  ],
  ['parent_id', (v) => typeof v === 'string', 'a string'],
  ['user_id', (v) => typeof v === 'string' && v.length <= 255, 'a string of at most 255 characters'],
  [
    'priority',
    (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 1_000_000,
    'a whole number from 0 (most urgent)',
  ],
  ['dependencies', Array.isArray, 'an array'],
  ['inputs', isRecord, 'an object'],
  ['params', isRecord, 'an object'],
  ['schemas', isRecord, 'an object'],
  ['original_task_id', (v) => typeof v === 'string' && v.length <= 255, 'a string of at most 255 characters'],
];

/** Checks each task's fields (name, then the optional ones), naming the first that is wrong. */
function checkTaskFields(tasks: readonly unknown[]): asserts tasks is TaskInput[] {
  tasks.forEach((task, i) => {
    if (!isRecord(task)) throw invalid(`Task at index ${i} must be an object`);
    if (typeof task.name !== 'string' || task.name.trim() === '')
      throw invalid(`Task at index ${i} must have a 'name' field`);
    if (task.name.length > MAX_NAME) throw invalid(`Task at index ${i}: 'name' must be at most ${MAX_NAME} characters`);
    for (const [key, ok, expected] of OPTIONAL_FIELDS) {
      if (task[key] !== undefined && task[key] !== null && !ok(task[key]))
        throw invalid(`Task at index ${i}: '${key}' must be ${expected}`);
    }
  });
}

function normaliseDependencies(
  { task, index: i, key }: TreeNode,
  known: ReadonlyMap<string, TreeNode>,
): TreeNode['dependencies'] {
  return (task.dependencies ?? []).map((dep) => {
    const ref = typeof dep === 'string' ? dep : isRecord(dep) ? (dep.id ?? dep.name) : undefined;
    if (typeof ref !== 'string' || ref === '')
      throw invalid(`Task '${key}' at index ${i}: each dependency needs an 'id' or 'name'`);
    const node = known.get(ref);
    if (!node) throw invalid(`Task '${key}' at index ${i}: dependency '${ref}' is not in the tasks array`);
    const required = typeof dep === 'object' && dep.required !== undefined ? dep.required : true;
    if (typeof required !== 'boolean')
      throw invalid(`Task '${key}' at index ${i}: dependency '${ref}' has a non-boolean 'required'`);
    const type = typeof dep === 'object' && typeof dep.type === 'string' ? dep.type : 'result';
    return { node, required, type };
  });
}

function freshId(given: string | undefined, taken: ReadonlySet<string> | undefined): string {
  if (given !== undefined && !taken?.has(given)) return given;
  return randomUUID();
}
