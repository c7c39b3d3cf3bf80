import type { TokenUsage } from '../usage/usage-types.ts';
import type { TaskSteps, TaskWait } from './task-wait.ts';

/**
 * The task states: the original's five and `input_required` (a task of a running tree waiting
 * for an answer, see docs/durable-runs.md).
 */
export type TaskStatus = 'pending' | 'in_progress' | 'input_required' | 'completed' | 'failed' | 'cancelled';

/** Every task state, in the order lists show them. */
export const TASK_STATUSES: readonly TaskStatus[] = [
  'pending',
  'in_progress',
  'input_required',
  'completed',
  'failed',
  'cancelled',
];

/** States a task does not leave unless it is executed again. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/** States of a task its run still waits for (not ended yet). */
export const UNFINISHED_STATUSES: readonly TaskStatus[] = ['pending', 'in_progress', 'input_required'];

/** A dependency as stored: on which task, whether it gates the run, and what it passes on. */
export interface TaskDependency {
  id: string;
  required: boolean;
  type: string;
}

/**
 * A task as the API shows it: exactly the original's 20 keys, in its order
 * (reference/original-apflow.md §1). Timestamps are ISO-8601 strings, progress a float.
 */
export interface TaskJson {
  id: string;
  parent_id: string | null;
  user_id: string | null;
  name: string;
  status: TaskStatus;
  priority: number;
  dependencies: TaskDependency[] | null;
  inputs: Record<string, unknown> | null;
  params: Record<string, unknown> | null;
  result: unknown;
  error: string | null;
  schemas: Record<string, unknown> | null;
  progress: number;
  created_at: string;
  started_at: string | null;
  updated_at: string;
  completed_at: string | null;
  has_children: boolean;
  original_task_id: string | null;
  has_copy: boolean;
  /** Only while the task waits (input, a timer, the children it spawned): what for. */
  waiting?: TaskWait;
  /** Only when its executor reported LLM calls (`ctx.usage`): their tokens and cost, every run's. */
  token_usage?: TokenUsage;
  /** Only on a root (tasks.get, tasks.list) whose tree made LLM calls: the whole tree's tokens and cost. */
  tree_token_usage?: TokenUsage;
  /** Only on a root with children in tasks.list: when its tree began (its tasks' earliest start). */
  tree_started_at?: string;
}

/** A task tree node: the task plus `children`, present only when it has some. */
export type TaskTreeJson = TaskJson & { children?: TaskTreeJson[] };

/** A stored task: the API shape plus the engine's own columns. */
export interface TaskRow extends Omit<TaskJson, 'waiting' | 'token_usage' | 'tree_token_usage' | 'tree_started_at'> {
  root_id: string;
  position: number;
  attempts: number;
  next_attempt_at: string | null;
  lease_owner: string | null;
  lease_expires_at: string | null;
  run_state: string | null;
  event_seq: number;
  /** Set while the task may be claimed (pending, nothing left to wait for): from this time on. */
  ready_at: string | null;
  /** The run the task is part of (its last one); a run's scope is the tasks carrying its id. */
  run_id: string | null;
  /** The only engine that may claim the task (its run needs that engine's memory), if any. */
  pinned_to: string | null;
  /** On a root: the id of the tree's run under way (its tasks carry it in `run_id`). */
  active_run: string | null;
  /** The task's run is in demo mode (`use_demo`): executors give their demo result. */
  run_demo: boolean;
  /** What the executor stored in the task's current run (steps, answers), replayed when it runs again. */
  steps: TaskSteps | null;
  /** What the suspended task waits for, else null (shown as `waiting` in the API). */
  waiting: TaskWait | null;
  /** The task that added this one while it ran (`ctx.spawn`), else null. */
  spawned_by: string | null;
  /** On a root: bumped when a spawn adds tasks to the tree's run (its shape changed). */
  shape_rev: number;
  /**
   * The W3C `traceparent` of the request that began the task's run, when it was traced: the
   * run's spans join that trace, on whatever server they are made (kernel/telemetry).
   */
  trace_parent: string | null;
  /**
   * Set once an LLM call of the task is in the usage ledger (on a root: of any task of its tree),
   * so reads look the ledger up only for tasks that have usage.
   */
  has_usage: boolean;
}

/** A task that has not run: the state fields a new, re-run or reset task starts with. */
export const NOT_RUN = {
  status: 'pending',
  progress: 0,
  result: null,
  error: null,
  started_at: null,
  completed_at: null,
} as const satisfies Partial<TaskRow>;

/** The engine's columns of a task no engine has touched. */
export const UNCLAIMED = {
  attempts: 0,
  next_attempt_at: null,
  lease_owner: null,
  lease_expires_at: null,
  run_state: null,
  event_seq: 0,
  ready_at: null,
  run_id: null,
  pinned_to: null,
  active_run: null,
  run_demo: false,
  steps: null,
  waiting: null,
  spawned_by: null,
  shape_rev: 0,
  trace_parent: null,
  has_usage: false,
} as const satisfies Partial<TaskRow>;

/** The 20 API keys, in order. */
export const TASK_JSON_KEYS = [
  'id',
  'parent_id',
  'user_id',
  'name',
  'status',
  'priority',
  'dependencies',
  'inputs',
  'params',
  'result',
  'error',
  'schemas',
  'progress',
  'created_at',
  'started_at',
  'updated_at',
  'completed_at',
  'has_children',
  'original_task_id',
  'has_copy',
] as const satisfies readonly (keyof TaskJson)[];

/** Every column of `apflow_tasks`. */
export const TASK_COLUMNS = [
  ...TASK_JSON_KEYS,
  'root_id',
  'position',
  'attempts',
  'next_attempt_at',
  'lease_owner',
  'lease_expires_at',
  'run_state',
  'event_seq',
  'ready_at',
  'run_id',
  'pinned_to',
  'active_run',
  'run_demo',
  'steps',
  'waiting',
  'spawned_by',
  'shape_rev',
  'trace_parent',
  'has_usage',
] as const satisfies readonly (keyof TaskRow)[];

/** Columns holding JSON. */
export const JSON_COLUMNS: ReadonlySet<string> = new Set([
  'dependencies',
  'inputs',
  'params',
  'result',
  'schemas',
  'steps',
  'waiting',
]);
/** Columns holding timestamps. */
export const TIME_COLUMNS: ReadonlySet<string> = new Set([
  'created_at',
  'started_at',
  'updated_at',
  'completed_at',
  'next_attempt_at',
  'lease_expires_at',
  'ready_at',
]);
const BOOLEAN_COLUMNS = new Set(['has_children', 'has_copy', 'run_demo', 'has_usage']);

/** The API view of a stored task. */
export function toTaskJson(row: TaskRow): TaskJson {
  // The keys of TASK_JSON_KEYS, in its order.
  return {
    id: row.id,
    parent_id: row.parent_id,
    user_id: row.user_id,
    name: row.name,
    status: row.status,
    priority: row.priority,
    dependencies: row.dependencies,
    inputs: row.inputs,
    params: row.params,
    result: row.result,
    error: row.error,
    schemas: row.schemas,
    progress: row.progress,
    created_at: row.created_at,
    started_at: row.started_at,
    updated_at: row.updated_at,
    completed_at: row.completed_at,
    has_children: row.has_children,
    original_task_id: row.original_task_id,
    has_copy: row.has_copy,
    ...(row.waiting ? { waiting: row.waiting } : {}),
  };
}

/** Turns a database row (either dialect) into a {@link TaskRow}. */
export function fromDatabaseRow(raw: Record<string, unknown>): TaskRow {
  const row = raw;
  for (const key of JSON_COLUMNS) {
    const value = row[key];
    row[key] = typeof value === 'string' ? JSON.parse(value) : (value ?? null);
  }
  for (const key of TIME_COLUMNS) row[key] = toIso(row[key]);
  for (const key of BOOLEAN_COLUMNS) row[key] = row[key] === true || row[key] === 1 || row[key] === '1';
  row.progress = Number(row.progress ?? 0);
  row.priority = Number(row.priority ?? 1);
  row.position = Number(row.position ?? 0);
  row.attempts = Number(row.attempts ?? 0);
  row.event_seq = Number(row.event_seq ?? 0);
  row.shape_rev = Number(row.shape_rev ?? 0);
  // Every column of apflow_tasks, each now in its TaskRow type.
  return row as unknown as TaskRow;
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A timestamp as an ISO-8601 string, or null. */
export function toIso(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  // What apflow writes is already ISO-8601 UTC: reading it back needs no parse.
  if (typeof value === 'string' && ISO_UTC.test(value)) return value;
  const date = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}

/** Nests rows into trees, children ordered by priority then creation order. */
export function buildTrees(rows: readonly TaskRow[]): TaskTreeJson[] {
  type Node = TaskJson & { _row: TaskRow; children?: Node[] };
  const nodes = new Map<string, Node>();
  for (const row of rows) nodes.set(row.id, { ...toTaskJson(row), _row: row });
  const roots: Node[] = [];
  for (const node of nodes.values()) {
    const parent = node.parent_id ? nodes.get(node.parent_id) : undefined;
    if (parent) (parent.children ??= []).push(node);
    else roots.push(node);
  }
  const order = (a: { _row: TaskRow }, b: { _row: TaskRow }) =>
    a._row.priority - b._row.priority || a._row.position - b._row.position;
  const strip = (node: Node): TaskTreeJson => {
    const { _row: _ignored, children, ...task } = node;
    return children?.length ? { ...task, children: children.sort(order).map(strip) } : task;
  };
  return roots.sort(order).map(strip);
}
