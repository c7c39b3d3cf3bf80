import { isRecord } from 'apflow';
import type { TaskDependency, TaskRow, TaskStatus } from 'apflow';

// Maps, so `constructor` or `__proto__` never find Object's members.
const FIXED = new Map([
  ['parent_id', "Cannot update 'parent_id': field cannot be modified (task hierarchy is fixed)"],
  ['user_id', "Cannot update 'user_id': field cannot be modified (task ownership is fixed)"],
]);
const NOT_UPDATABLE = new Set([
  'id',
  'root_id',
  'created_at',
  'updated_at',
  'has_children',
  'has_copy',
  'original_task_id',
]);
const STATUSES: ReadonlySet<string> = new Set(['pending', 'in_progress', 'completed', 'failed', 'cancelled']);

/** The fields `tasks.update` may set (besides `dependencies`). */
type UpdatableField =
  | 'name'
  | 'status'
  | 'priority'
  | 'progress'
  | 'error'
  | 'result'
  | 'inputs'
  | 'params'
  | 'schemas'
  | 'started_at'
  | 'completed_at';
/** What a field's value must be, and what to say when it is not. */
interface FieldRule<K extends UpdatableField> {
  ok: (value: unknown) => value is TaskRow[K];
  problem: string;
}

const objectOrNull = {
  ok: (v: unknown): v is Record<string, unknown> | null => v === null || isRecord(v),
  problem: 'must be an object or null',
};
const isoOrNull = {
  ok: (v: unknown): v is string | null => v === null || (typeof v === 'string' && !Number.isNaN(Date.parse(v))),
  problem: 'must be an ISO-8601 time or null',
};

const FIELDS: { readonly [K in UpdatableField]: FieldRule<K> } = {
  name: { ok: (v): v is string => typeof v === 'string' && v.trim() !== '', problem: 'must be a non-empty string' },
  status: {
    ok: (v): v is TaskStatus => typeof v === 'string' && STATUSES.has(v),
    problem: `must be one of ${[...STATUSES].join(', ')}`,
  },
  priority: {
    ok: (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 1_000_000,
    problem: 'must be a whole number from 0 to 1000000',
  },
  progress: {
    ok: (v): v is number => typeof v === 'number' && v >= 0 && v <= 1,
    problem: 'must be a number from 0 to 1',
  },
  error: { ok: (v): v is string | null => v === null || typeof v === 'string', problem: 'must be a string or null' },
  result: { ok: (_v): _v is unknown => true, problem: '' },
  inputs: objectOrNull,
  params: objectOrNull,
  schemas: objectOrNull,
  started_at: isoOrNull,
  completed_at: isoOrNull,
};
const isUpdatable = (key: string): key is UpdatableField => Object.hasOwn(FIELDS, key);

/** Sets `key` on `set` when `value` passes the field's rule; else returns what is wrong. */
function setChecked<K extends UpdatableField>(set: Partial<TaskRow>, key: K, value: unknown): string | null {
  const rule: FieldRule<K> = FIELDS[key];
  if (!rule.ok(value)) return rule.problem;
  set[key] = value;
  return null;
}

/**
 * Checks a `tasks.update` against the original's rules and returns the columns to set; every
 * violation is collected first and reported together (reference/original-apflow.md §4).
 * Fields apflow does not know are ignored.
 */
export function planUpdate(
  task: TaskRow,
  tree: readonly TaskRow[],
  fields: Record<string, unknown>,
): { set: Partial<TaskRow>; errors: string[] } {
  const errors: string[] = [];
  const set: Partial<TaskRow> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'task_id') continue;
    const fixed = FIXED.get(key);
    if (fixed !== undefined) errors.push(fixed);
    else if (NOT_UPDATABLE.has(key)) errors.push(`Cannot update '${key}': field cannot be modified`);
    else if (key === 'dependencies') {
      const checked = checkDependencies(task, tree, value);
      if (typeof checked === 'string') errors.push(checked);
      else set.dependencies = checked;
    } else if (isUpdatable(key)) {
      const problem = setChecked(set, key, value);
      if (problem) errors.push(`Cannot update '${key}': ${problem}`);
    }
  }
  return { set, errors };
}

function checkDependencies(task: TaskRow, tree: readonly TaskRow[], value: unknown): TaskDependency[] | null | string {
  if (task.status !== 'pending')
    return `Cannot update 'dependencies': task status is '${task.status}' (must be 'pending')`;
  if (value === null) return null;
  if (!Array.isArray(value)) return "Cannot update 'dependencies': must be a list";
  const byId = new Map(tree.map((row) => [row.id, row]));
  const byName = new Map(tree.map((row) => [row.name, row]));
  const deps: TaskDependency[] = [];
  for (const entry of value) {
    const ref = typeof entry === 'string' ? entry : isRecord(entry) ? (entry.id ?? entry.name) : undefined;
    const target = typeof ref === 'string' ? (byId.get(ref) ?? byName.get(ref)) : undefined;
    if (!target) return `Dependency reference '${String(ref)}' not found in task tree`;
    const required = isRecord(entry) && typeof entry.required === 'boolean' ? entry.required : true;
    const type = isRecord(entry) && typeof entry.type === 'string' ? entry.type : 'result';
    deps.push({ id: target.id, required, type });
  }
  const cycle = findCycle(task.id, deps, byId);
  if (cycle) return `Circular dependency detected: ${cycle.join(' -> ')}`;
  for (let at = task.parent_id; at; at = byId.get(at)?.parent_id ?? null) {
    if (deps.some((dep) => dep.required && dep.id === at)) {
      return `Cannot update 'dependencies': '${at}' is an ancestor of this task, and a parent runs only after its children`;
    }
  }
  const running = tree.filter(
    (row) => (row.dependencies ?? []).some((dep) => dep.id === task.id) && row.status === 'in_progress',
  );
  if (running.length)
    return `Cannot update 'dependencies': tasks depending on this one are executing: [${running.map((row) => row.id).join(', ')}]`;
  return deps;
}

/** A dependency path from `start` back to itself, if the new dependencies make one. */
function findCycle(
  start: string,
  deps: readonly TaskDependency[],
  byId: ReadonlyMap<string, TaskRow>,
): string[] | null {
  const edges = (id: string) => (id === start ? deps : (byId.get(id)?.dependencies ?? [])).map((dep) => dep.id);
  // Each path with its last id.
  const stack: [string[], string][] = edges(start).map((id) => [[start, id], id]);
  const seen = new Set<string>();
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [path, last] = top;
    if (last === start) return path;
    if (seen.has(last)) continue;
    seen.add(last);
    for (const next of edges(last)) stack.push([[...path, next], next]);
  }
  return null;
}
