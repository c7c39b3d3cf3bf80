import { mergeDependencyResults } from '../tasks/merge-dependency-results.ts';
import { TERMINAL_STATUSES, type TaskRow } from '../tasks/task-record.ts';
import type { TreeShape } from './tree-shape.ts';

/**
 * A task this engine claims in the same turn as the task that unblocked it, decided from its
 * memory of the run instead of the database's readiness check.
 */
export interface FollowOn {
  /** The task as claimed (in progress, leased here, its dependencies' results merged in). */
  row: TaskRow;
  /**
   * The tasks its readiness relied on. The claim is written only if none of their writes in the
   * same turn was refused, and the executor starts only once that turn committed: a follow-on
   * never runs on a completion that is not durable.
   */
  gates: string[];
}

/**
 * What completing `completedId` lets this engine claim at once: its parent and its required
 * dependents in the run, when the remembered rows say nothing else holds them back (children of
 * the run ended, required dependencies completed). A pure decision: it changes nothing.
 *
 * Sound because an ended task stays ended within a run, and none of these tasks can be claimed
 * elsewhere meanwhile: each waits for `completedId`, whose completion only this engine has seen. The
 * claim is still written guarded (pending, same run), so a tree changed elsewhere refuses it.
 */
export function followOnsAfter(
  run: { shape: TreeShape; rows: ReadonlyMap<string, Readonly<TaskRow>> },
  completedId: string,
  claim: Pick<TaskRow, 'lease_owner' | 'lease_expires_at' | 'started_at'>,
): FollowOn[] {
  const { shape, rows } = run;
  const candidates = new Set<string>();
  const parent = shape.parent.get(completedId);
  if (parent && shape.inRun.has(parent)) candidates.add(parent);
  for (const dependent of shape.dependents.get(completedId) ?? [])
    if (dependent.required && shape.inRun.has(dependent.id)) candidates.add(dependent.id);
  const out: FollowOn[] = [];
  for (const id of candidates) {
    const row = rows.get(id);
    if (!row || row.status !== 'pending' || row.ready_at || row.next_attempt_at) continue;
    const children = (shape.children.get(id) ?? []).filter((child) => shape.inRun.has(child));
    const deps = row.dependencies ?? [];
    const childrenEnded = children.every((child) => TERMINAL_STATUSES.has(rows.get(child)?.status ?? ''));
    const depsMet = deps.every((dep) => {
      // A dependency outside the tree does not hold the task back (the engine ignores it too).
      const status = rows.get(dep.id)?.status ?? (shape.parent.has(dep.id) ? '' : 'absent');
      return status === 'absent' || (dep.required ? status === 'completed' : TERMINAL_STATUSES.has(status));
    });
    if (!childrenEnded || !depsMet) continue;
    out.push({
      row: {
        ...row,
        status: 'in_progress',
        inputs: mergeDependencyResults(row, (dep) => rows.get(dep)),
        started_at: claim.started_at,
        updated_at: claim.started_at as string,
        attempts: row.attempts + 1,
        next_attempt_at: null,
        ready_at: null,
        lease_owner: claim.lease_owner,
        lease_expires_at: claim.lease_expires_at,
      },
      gates: [...children, ...deps.map((dep) => dep.id)],
    });
  }
  return out;
}
