import { mergeDependencyResults } from '../tasks/merge-dependency-results.ts';
import { TERMINAL_STATUSES, type TaskRow } from '../tasks/task-record.ts';
import type { TreeShape } from './tree-shape.ts';

/** A task started before its claim was written, and the tasks whose state that relied on. */
export interface Continuation {
  row: TaskRow;
  /** Its claim holds only if each of these is settled as this engine believed (none was refused). */
  gates: string[];
}

/**
 * What a task that just completed here lets start at once, before anything is written: its
 * parent and required dependents in the run, when the engine's first-hand picture of the run
 * says nothing else holds them back. Sound because a picture of "settled" is never wrong (settled
 * tasks stay settled in a run), and none of these tasks can be claimed elsewhere meanwhile: each
 * waits for `done`, whose completion nobody else has seen. Their claims are written guarded (still
 * pending, same run) with the next batch; one refused cancels the run here.
 */
export function continueLocally(
  shape: TreeShape,
  done: TaskRow,
  claim: Pick<TaskRow, 'lease_owner' | 'lease_expires_at' | 'started_at'>,
): Continuation[] {
  const mirror = shape.mirror;
  if (!mirror || (mirror.pinnedTo !== null && mirror.pinnedTo !== claim.lease_owner)) return [];
  const candidates = new Set<string>();
  const parent = shape.parent.get(done.id);
  if (parent && shape.inRun.has(parent)) candidates.add(parent);
  for (const dependent of shape.dependents.get(done.id) ?? [])
    if (dependent.required && shape.inRun.has(dependent.id)) candidates.add(dependent.id);
  const out: Continuation[] = [];
  for (const id of candidates) {
    const row = mirror.rows.get(id);
    if (!row || row.status !== 'pending' || row.ready_at || row.next_attempt_at) continue;
    const children = (shape.children.get(id) ?? []).filter((child) => shape.inRun.has(child));
    const deps = row.dependencies ?? [];
    const settled = children.every((child) => TERMINAL_STATUSES.has(mirror.rows.get(child)?.status ?? ''));
    const depsKnown = deps.every((dep) => {
      const status = mirror.rows.get(dep.id)?.status ?? (shape.parent.has(dep.id) ? '' : 'absent');
      return status === 'absent' || (dep.required ? status === 'completed' : TERMINAL_STATUSES.has(status));
    });
    if (!settled || !depsKnown) continue;
    const started: TaskRow = {
      ...row,
      status: 'in_progress',
      inputs: mergeDependencyResults(row, (dep) => mirror.rows.get(dep)),
      started_at: claim.started_at,
      updated_at: claim.started_at as string,
      attempts: row.attempts + 1,
      next_attempt_at: null,
      ready_at: null,
      lease_owner: claim.lease_owner,
      lease_expires_at: claim.lease_expires_at,
    };
    row.status = 'in_progress';
    out.push({ row: started, gates: [...children, ...deps.map((dep) => dep.id)] });
  }
  return out;
}
