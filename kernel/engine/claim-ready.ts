import {
  claimRows,
  lockClaimCounts,
  runningPerUser,
  selectClaimable,
  type ClaimCandidate,
} from '../storage/queries/claims.ts';
import { selectRowsIn } from '../storage/queries/run-queries.ts';
import { mergeDependencyResults } from '../tasks/merge-dependency-results.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import type { TreeTx } from './tree-tx.ts';

/** How much an engine may claim now. */
export interface ClaimLimits {
  /** Free slots of this engine (`engine.concurrency` minus what it runs). */
  slots: number;
  /** Running tasks per user, on all engines together (`engine.per_user_concurrency`). */
  perUser?: number;
  /** Running tasks on all engines together (`engine.cluster_concurrency`). */
  cluster?: number;
  /** Only tasks pinned to this engine. */
  pinnedOnly: boolean;
  /** Lease expiry for the claimed tasks (ISO). */
  leaseUntil: string;
}

/**
 * Claims ready tasks for this engine inside `tx`, most urgent first, within its free slots and
 * the limits every engine shares (counted under one lock so two servers cannot both take a
 * user's last slot). Each claimed task gets its lease, its inputs with the results of its
 * dependencies merged in, and a `task_start` event. Tasks of trees another transaction is
 * changing right now are left for later (their roots are skipped, never waited for).
 */
export async function claimReady(
  tx: TreeTx,
  limits: ClaimLimits,
  seal: (row: TaskRow) => TaskRow['inputs'] = (row) => row.inputs,
): Promise<Claimed> {
  let slots = limits.slots;
  if (slots <= 0) return { rows: [], drained: false };
  const running = new Map<string | null, number>();
  const counted = limits.perUser !== undefined || limits.cluster !== undefined;
  if (counted) {
    await lockClaimCounts(tx.sql, tx.runner);
    for (const [user, n] of await runningPerUser(tx.runner)) running.set(user, n);
    if (limits.cluster !== undefined) {
      let total = 0;
      for (const n of running.values()) total += n;
      slots = Math.min(slots, limits.cluster - total);
      if (slots <= 0) return { rows: [], drained: false };
    }
  }
  const atLimit =
    limits.perUser === undefined
      ? []
      : [...running].filter(([, n]) => n >= (limits.perUser as number)).map(([user]) => user);
  await tx.sync();
  // The read sent ahead serves if it asked for at least as many as the slots free now.
  const sent = counted ? undefined : await tx.takeAhead<ReadyAhead>(READY_AHEAD);
  const ahead = sent && sent.limit >= slots ? sent : undefined;
  const limit = ahead ? ahead.limit : limits.perUser === undefined ? slots : Math.min(1000, slots * 4);
  const candidates = ahead
    ? ahead.candidates
    : await selectClaimable(tx.sql, tx.runner, {
        now: tx.now,
        owner: tx.owner,
        pinnedOnly: limits.pinnedOnly,
        limit,
        usersAtLimit: atLimit,
      });
  // Fewer than asked for: every claimable task was among them (limits counted aside). On
  // PostgreSQL, SKIP LOCKED passed over rows other transactions hold: those that ready tasks and
  // leave some unclaimed say so when they commit (the `wake` note), and so does a claim that
  // leaves rows it locked (below); anything else is found by the next heartbeat's claim.
  let drained = !counted && candidates.length < limit;
  const picked: typeof candidates = [];
  for (const candidate of candidates) {
    if (picked.length >= slots) break;
    if (limits.perUser !== undefined) {
      const n = running.get(candidate.user_id) ?? 0;
      if (n >= limits.perUser) continue;
      running.set(candidate.user_id, n + 1);
    }
    picked.push(candidate);
  }
  if (picked.length === 0) return { rows: [], drained };
  const held = await tx.lock(
    picked.map((candidate) => candidate.root_id),
    true,
  );
  if (picked.some((candidate) => !held.has(candidate.root_id))) drained = false;
  const rows = await claimRows(
    tx.sql,
    tx.runner,
    picked.filter((candidate) => held.has(candidate.root_id)).map((candidate) => candidate.id),
    {
      now: tx.now,
      owner: tx.owner,
      until: limits.leaseUntil,
    },
  );
  const depIds = rows.flatMap((row) => (row.dependencies ?? []).map((dep) => dep.id));
  const deps = new Map(
    (depIds.length ? await selectRowsIn(tx.sql, tx.runner, depIds) : []).map((row) => [row.id, row]),
  );
  // Candidates locked here and left ready (their tree held by another transaction): the other
  // engines' claims passed over them, and must look again after this commit. (Claims that count
  // running tasks take turns under one lock and never skip a claim: nothing to say to them.)
  if (tx.sql.dialect === 'postgres' && !counted && rows.length < candidates.length) tx.notes.wake = true;
  const order = new Map(picked.map((candidate, i) => [candidate.id, i]));
  rows.sort((a, b) => (order.get(a.id) as number) - (order.get(b.id) as number));
  for (const row of rows) {
    if (row.dependencies?.length) {
      // A dependency's result may land on a secret input: it is stored sealed like the rest.
      row.inputs = mergeDependencyResults(row, (id) => deps.get(id));
      row.inputs = seal(row);
      tx.set(row.id, { inputs: row.inputs });
    }
    tx.event('task_start', row);
  }
  return { rows, drained };
}

/** The ready read sent ahead (see {@link readReadyAhead}). */
const READY_AHEAD = 'claim-ready';
interface ReadyAhead {
  limit: number;
  candidates: ClaimCandidate[];
}

/**
 * Sends ahead the read of ready tasks {@link claimReady} will make with `limits` (when no running
 * tasks are counted), so that it travels with the statements before it: the claim takes it if
 * nothing that may write was sent since (a task readied meanwhile, say), else reads again.
 */
export function readReadyAhead(tx: TreeTx, limits: ClaimLimits): void {
  if (limits.slots <= 0 || limits.perUser !== undefined || limits.cluster !== undefined) return;
  const limit = limits.slots;
  tx.readAhead(READY_AHEAD, async (runner): Promise<ReadyAhead> => {
    const filter = { now: tx.now, owner: tx.owner, pinnedOnly: limits.pinnedOnly, limit, usersAtLimit: [] };
    return { limit, candidates: await selectClaimable(tx.sql, runner, filter) };
  });
}

/** What {@link claimReady} took, and whether that was every task it may claim (none is left ready). */
export interface Claimed {
  rows: TaskRow[];
  drained: boolean;
}
