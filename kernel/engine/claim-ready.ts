import {
  claimRows,
  lockClaimCounts,
  runningPerUser,
  pickAndClaim,
  selectClaimable,
  type ClaimCandidate,
  type PickedTask,
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
  const early = tx.takeWrittenAhead<EarlyClaim>(CLAIM_AHEAD);
  if (early) return claimedAhead(tx, await early, limits, seal);
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
  const limit = limits.perUser === undefined ? slots : Math.min(1000, slots * 4);
  const candidates = await selectClaimable(tx.sql, tx.runner, {
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
  // Candidates locked here and left ready (their tree held by another transaction): the other
  // engines' claims passed over them, and must look again after this commit. (Claims that count
  // running tasks take turns under one lock and never skip a claim: nothing to say to them.)
  if (tx.sql.dialect === 'postgres' && !counted && rows.length < candidates.length) tx.notes.wake = true;
  return { rows: await started(tx, picked, rows, seal), drained };
}

/**
 * Claimed rows made ready to run, in the order they were picked: their dependencies' results
 * merged into their inputs, and a `task_start` event each.
 */
async function started(
  tx: TreeTx,
  picked: readonly ClaimCandidate[],
  rows: TaskRow[],
  seal: (row: TaskRow) => TaskRow['inputs'],
): Promise<TaskRow[]> {
  const depIds = rows.flatMap((row) => (row.dependencies ?? []).map((dep) => dep.id));
  const deps = new Map(
    (depIds.length ? await selectRowsIn(tx.sql, tx.runner, depIds) : []).map((row) => [row.id, row]),
  );
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
  return rows;
}

/** The claim sent ahead (see {@link claimAhead}): how many it picked at most, and its picks. */
const CLAIM_AHEAD = 'claim';
interface EarlyClaim {
  limit: number;
  picks: PickedTask[];
}

/**
 * Sends ahead, on PostgreSQL, the claim {@link claimReady} would make with `limits` (when no
 * running tasks are counted): ready tasks picked most urgent first, those of trees whose roots
 * are in `held` (locked by this transaction, or by a lock sent before) claimed in the same
 * statement, one round trip with the statements before it. It is written before the turn
 * settles what it wrote: a task that readies goes to the next claim (the commit says so: the
 * `wake` note). `claimReady` then finishes it whatever was sent since. Returns the slots it may
 * fill (0 when it was not sent).
 */
export function claimAhead(tx: TreeTx, limits: ClaimLimits, held: readonly string[]): number {
  if (limits.slots <= 0 || limits.perUser !== undefined || limits.cluster !== undefined) return 0;
  const limit = limits.slots;
  const filter = { now: tx.now, owner: tx.owner, pinnedOnly: limits.pinnedOnly, limit, usersAtLimit: [] };
  const lease = { now: tx.now, owner: tx.owner, until: limits.leaseUntil };
  tx.writeAhead(CLAIM_AHEAD, async (runner): Promise<EarlyClaim> => ({
    limit,
    picks: await pickAndClaim(tx.sql, runner, filter, lease, held),
  }));
  return limit;
}

/**
 * Finishes the claim sent ahead: claims the picks of trees it did not hold (their roots locked
 * now, skipping those another transaction holds) as far as the slots go.
 */
async function claimedAhead(
  tx: TreeTx,
  early: EarlyClaim,
  limits: ClaimLimits,
  seal: (row: TaskRow) => TaskRow['inputs'],
): Promise<Claimed> {
  const { picks } = early;
  let drained = picks.length < early.limit;
  const claimed = picks.flatMap((pick) => (pick.row ? [pick.row] : []));
  const rest = picks.filter((pick) => !pick.row).slice(0, Math.max(0, limits.slots - claimed.length));
  if (rest.length) {
    const held = await tx.lock(
      rest.map((pick) => pick.root_id),
      true,
    );
    if (rest.some((pick) => !held.has(pick.root_id))) drained = false;
    const ids = rest.filter((pick) => held.has(pick.root_id)).map((pick) => pick.id);
    claimed.push(
      ...(await claimRows(tx.sql, tx.runner, ids, { now: tx.now, owner: tx.owner, until: limits.leaseUntil })),
    );
  }
  if (claimed.length < picks.length) tx.notes.wake = true;
  return { rows: await started(tx, picks, claimed, seal), drained };
}

/** What {@link claimReady} took, and whether that was every task it may claim (none is left ready). */
export interface Claimed {
  rows: TaskRow[];
  drained: boolean;
}
