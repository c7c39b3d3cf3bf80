import { randomUUID } from 'node:crypto';
import { safeAssign } from '../internal/safe-merge.ts';
import type { ParsedCopyOptions } from './copy-options.ts';
import { selectForCopy } from './copy-selection.ts';
import type { TaskSteps } from './task-wait.ts';
import { toTaskJson, UNCLAIMED, type TaskDependency, type TaskJson, type TaskRow } from './task-record.ts';

/** A copy ready to store: its rows (root first) and the ids of the originals they copy. */
export interface CopyPlan {
  rows: TaskRow[];
  originalIds: string[];
}

/** One task of an unsaved copy, as `tasks.create` takes it: every API key but the stored-only ones. */
export type CopiedTask = Omit<TaskJson, 'created_at' | 'updated_at' | 'has_copy'>;

/**
 * Plans a copy of the tree around `taskId` (reference/original-apflow.md §2.4): picks the
 * originals by mode, gives each a fresh UUID and `original_task_id`, remaps parents and
 * dependencies (dropping those pointing outside the copy), resets the tasks that start over
 * and keeps the finished run of the others (full mode), then applies `reset_fields`. Tasks
 * spawned at run time are left out (a copy's run spawns its own), but for the task copied itself;
 * with `keep_answers`, copies that run again keep their originals' answers. `tree` is every row
 * of the tree `taskId` belongs to. Stores nothing.
 */
export function planCopy(
  tree: readonly TaskRow[],
  taskId: string,
  options: ParsedCopyOptions,
  now = new Date().toISOString(),
): CopyPlan {
  const designed = tree.filter((row) => row.spawned_by === null || row.id === taskId);
  const { originals, rerun } = selectForCopy(designed, taskId, options);
  const newIds = new Map(originals.map((row) => [row.id, randomUUID()]));
  // Every id asked for is one of the originals' or filtered by newIds.has: it has a new id.
  const newId = (id: string) => newIds.get(id) as string;
  const rootId = newId(originals[0].id);
  const parents = new Set(originals.slice(1).map((row) => row.parent_id));
  const rows = originals.map((original, position): TaskRow => {
    const fresh = rerun.has(original.id);
    const dependencies: TaskDependency[] = (original.dependencies ?? [])
      .filter((dep) => newIds.has(dep.id))
      .map((dep) => ({ ...dep, id: newId(dep.id) }));
    const row: TaskRow = {
      id: newId(original.id),
      parent_id: position === 0 || !original.parent_id ? null : newId(original.parent_id),
      user_id: options.owner === undefined ? original.user_id : options.owner,
      name: original.name,
      status: fresh ? 'pending' : 'completed',
      priority: original.priority,
      dependencies: dependencies.length ? dependencies : null,
      inputs: fresh ? withoutMergedResults(original, newIds) : clone(original.inputs),
      params: clone(original.params),
      result: fresh ? null : clone(original.result),
      error: null,
      schemas: clone(original.schemas),
      progress: fresh ? 0 : 1,
      created_at: now,
      started_at: fresh ? null : original.started_at,
      updated_at: now,
      completed_at: fresh ? null : original.completed_at,
      has_children: parents.has(original.id),
      original_task_id: original.id,
      has_copy: false,
      root_id: rootId,
      position,
      ...UNCLAIMED,
      steps: fresh && options.keepAnswers ? answersOf(original) : null,
    };
    return safeAssign(row, clone(options.overrides));
  });
  return { rows, originalIds: originals.map((row) => row.id) };
}

/** The unsaved form of a planned copy: a flat array `tasks.create` accepts as it is. */
export function toCopiedTasks(rows: readonly TaskRow[]): CopiedTask[] {
  return rows.map((row) => {
    // The API view without what a saved copy sets itself.
    const { created_at: _created, updated_at: _updated, has_copy: _hasCopy, ...copied } = toTaskJson(row);
    return copied;
  });
}

/**
 * A run stores each dependency's result in the task's inputs under the dependency's id. A copy
 * that runs again gets those results under the new ids, so the old entries would only be stale
 * duplicates; entries of dependencies left outside the copy stay, as the copy has no other source.
 */
function withoutMergedResults(original: TaskRow, newIds: ReadonlyMap<string, string>): Record<string, unknown> | null {
  const inputs = clone(original.inputs);
  if (!inputs) return inputs;
  for (const dep of original.dependencies ?? []) if (newIds.has(dep.id)) delete inputs[dep.id];
  return inputs;
}

/** The answers a task's questions got, as its durable memory (so a run replays them), or null. */
function answersOf(row: TaskRow): TaskSteps | null {
  const kept = Object.entries(row.steps ?? {}).filter(([key, step]) => key.startsWith('input:') && 'answer' in step);
  return kept.length ? Object.fromEntries(kept) : null;
}

function clone<T>(value: T): T {
  return value === null || typeof value !== 'object' ? value : structuredClone(value);
}
