import type { TaskDependency, TaskRow } from 'apflow';

const FIXED: Record<string, string> = {
  parent_id: "Cannot update 'parent_id': field cannot be modified (task hierarchy is fixed)",
  user_id: "Cannot update 'user_id': field cannot be modified (task ownership is fixed)",
};
const NOT_UPDATABLE = new Set([
  'id',
  'root_id',
  'created_at',
  'updated_at',
  'has_children',
  'has_copy',
  'original_task_id',
]);
const STATUSES = new Set(['pending', 'in_progress', 'completed', 'failed', 'cancelled']);

type Check = (value: unknown) => string | null;
const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
const isoOrNull: Check = (v) =>
  v === null || (typeof v === 'string' && !Number.isNaN(Date.parse(v))) ? null : 'must be an ISO-8601 time or null';

const FIELD_CHECKS: Record<string, Check> = {
  name: (v) => (typeof v === 'string' && v.trim() !== '' ? null : 'must be a non-empty string'),
  status: (v) => (typeof v === 'string' && STATUSES.has(v) ? null : `must be one of ${[...STATUSES].join(', ')}`),
  priority: (v) =>
    Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1_000_000
      ? null
      : 'must be a whole number from 0 to 1000000',
  progress: (v) => (typeof v === 'number' && v >= 0 && v <= 1 ? null : 'must be a number from 0 to 1'),
  error: (v) => (v === null || typeof v === 'string' ? null : 'must be a string or null'),
  result: () => null,
  inputs: (v) => (v === null || isObject(v) ? null : 'must be an object or null'),
  params: (v) => (v === null || isObject(v) ? null : 'must be an object or null'),
  schemas: (v) => (v === null || isObject(v) ? null : 'must be an object or null'),
  started_at: isoOrNull,
  completed_at: isoOrNull,
};

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
  const set: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'task_id') continue;
    // Own keys only: `constructor` or `__proto__` must not find Object's members.
    if (Object.hasOwn(FIXED, key)) errors.push(FIXED[key] as string);
    else if (NOT_UPDATABLE.has(key)) errors.push(`Cannot update '${key}': field cannot be modified`);
    else if (key === 'dependencies') {
      const checked = checkDependencies(task, tree, value);
      if (typeof checked === 'string') errors.push(checked);
      else set.dependencies = checked;
    } else if (Object.hasOwn(FIELD_CHECKS, key)) {
      const problem = (FIELD_CHECKS[key] as Check)(value);
      if (problem) errors.push(`Cannot update '${key}': ${problem}`);
      else set[key] = value;
    }
  }
  return { set: set as Partial<TaskRow>, errors };
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
    const ref =
      typeof entry === 'string'
        ? entry
        : isObject(entry)
          ? ((entry as { id?: unknown; name?: unknown }).id ?? (entry as { name?: unknown }).name)
          : undefined;
    const target = typeof ref === 'string' ? (byId.get(ref) ?? byName.get(ref)) : undefined;
    if (!target) return `Dependency reference '${String(ref)}' not found in task tree`;
    const required =
      isObject(entry) && typeof (entry as { required?: unknown }).required === 'boolean'
        ? (entry as { required: boolean }).required
        : true;
    const type =
      isObject(entry) && typeof (entry as { type?: unknown }).type === 'string'
        ? (entry as { type: string }).type
        : 'result';
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
  const stack: string[][] = edges(start).map((id) => [start, id]);
  const seen = new Set<string>();
  while (stack.length > 0) {
    const path = stack.pop() as string[];
    const last = path[path.length - 1] as string;
    if (last === start) return path;
    if (seen.has(last)) continue;
    seen.add(last);
    for (const next of edges(last)) stack.push([...path, next]);
  }
  return null;
}
