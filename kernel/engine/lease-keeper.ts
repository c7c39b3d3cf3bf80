import { nextReadyAt } from '../storage/queries/claims.ts';
import { leasesLost, othersLeases, pinOwners, renewLeases, runsWithoutId, unpin } from '../storage/queries/leases.ts';
import { beat, forgetServers, listServers } from '../storage/queries/servers.ts';
import { pruneEvents } from '../storage/queries/task-events.ts';
import { beginRuns } from './begin-runs.ts';
import type { EngineCore } from './engine-core.ts';
import { aliveSince, isOwnerGone, leaseHolds } from './engine-owner.ts';
import { recoverTasks } from './recover-tasks.ts';
import type { TreeHub } from './tree-hub.ts';
import type { WorkLoop } from './work-loop.ts';

/** How often old events are pruned. */
const PRUNE_EVERY_MS = 10 * 60 * 1000;
/** Heartbeats at least this often, whatever the lease (the safety-net poll rides on them). */
const MAX_TICK_MS = 2000;

/**
 * The engine's heartbeat: renews the leases of the tasks it runs and its row in
 * `apflow_servers`, aborts runs it no longer holds (cancelled or taken over), and — on a server
 * — sweeps: takes back tasks whose engine stopped (expired lease, or a process of this host that
 * is gone), frees tasks pinned to engines that are gone, resumes runs an older apflow left
 * behind, and prunes old events. Each beat is also the safety net of signals: it wakes the work
 * loop for tasks that became ready and, without LISTEN, tells followers to look at the log.
 */
export function createLeaseKeeper(core: EngineCore, loop: WorkLoop, hub: TreeHub) {
  const { sql, owner, log } = core;
  const leaseMs = core.settings.lease_s * 1000;
  const eventRetentionMs = core.settings.event_retention_s * 1000;
  const lostHere = (ids: string[]) =>
    loop.running.abort(ids, new Error('this server no longer holds the task (cancelled or taken over)'));
  const startedAt = new Date().toISOString();
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | null = null;
  let lastPrune = 0;

  const sweep = async () => {
    const now = Date.now();
    const dead = (await othersLeases(sql, owner)).filter((lease) => !leaseHolds(lease, now));
    if (dead.length) {
      const recovered = await core.transact((tx) => recoverTasks(tx, dead));
      if (recovered) log.warn({ tasks: recovered }, 'took back tasks whose server stopped');
    }
    const pinned = (await pinOwners(sql)).filter((pin) => pin !== owner);
    if (pinned.length) {
      const since = aliveSince(now, core.settings.lease_s);
      const alive = new Set(
        (await listServers(sql)).filter((server) => server.heartbeat_at >= since).map((server) => server.id),
      );
      for (const pin of pinned) {
        if (alive.has(pin) && !isOwnerGone(pin)) continue;
        log.warn({ engine: pin }, 'the server that held some runs is gone; any server may run their tasks now');
        // Their ready tasks are anyone's now: the other engines hear it at once, not at their beat.
        const anyone = { o: owner, r: 1 } as const;
        await sql.write(async (runner) => {
          await unpin(runner, pin);
          await core.signals.sendInTransaction(runner, anyone);
        });
        core.signals.sendAfterCommit(anyone);
      }
    }
    for (const rootId of await runsWithoutId(sql)) {
      log.warn({ root_task_id: rootId }, 'resuming a tree an older apflow left running');
      await core.transact(async (tx) => {
        const { readied } = await beginRuns(tx, [{ taskId: rootId, pinnedTo: null, resume: true }]);
        // Any engine may run them: the others hear it now rather than at their next beat.
        if (readied > 0) tx.notes.wake = true;
      });
    }
    if (now - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = now;
      await sql.write((runner) => pruneEvents(sql, runner, new Date(now - eventRetentionMs).toISOString()));
      await sql.write((runner) =>
        forgetServers(sql, runner, null, new Date(now - Math.max(3_600_000, 10 * leaseMs)).toISOString()),
      );
    }
  };

  // Renewing never waits for a sweep: a slow sweep (a busy database) must not cost this engine its
  // leases, or another one would take back tasks that are still running here.
  const renew = async () => {
    try {
      const now = new Date();
      await sql.write(async (runner) => {
        await renewLeases(sql, runner, owner, loop.running.ids(), new Date(now.getTime() + leaseMs).toISOString());
        await beat(sql, runner, owner, now.toISOString(), startedAt);
      });
      const here = loop.running.ids();
      if (here.length) {
        const lost = await leasesLost(sql, here, owner);
        // A run that started after the read above is not lost: only the ones still here count.
        const still = new Set(loop.running.ids());
        const gone = [...lost].filter((id) => still.has(id));
        if (gone.length) lostHere(gone);
      }
    } catch (error) {
      log.error({ err: error }, 'engine heartbeat failed');
    }
  };
  const tick = async () => {
    try {
      if (core.mode === 'server') await sweep();
      const next = await nextReadyAt(sql, new Date().toISOString());
      if (next) loop.wakeAt(Date.parse(next));
      loop.kick();
      // Without LISTEN (SQLite) another process (a CLI cancel, a server outside the cluster) may
      // write events nobody signals: followers look at the log. With it, every writer signals and
      // a reconnect after lost signals says so, so this is not needed on every beat.
      if (core.signals.kind !== 'listen')
        for (const rootId of hub.followed()) hub.news(rootId, Number.MAX_SAFE_INTEGER);
    } catch (error) {
      log.error({ err: error }, 'engine sweep failed');
    }
  };
  let renewing: Promise<void> | null = null;
  const runRenew = () => {
    renewing ??= renew().finally(() => (renewing = null));
    return renewing;
  };
  const runTick = () => {
    ticking ??= tick().finally(() => (ticking = null));
    return ticking;
  };

  return {
    /** Beats and sweeps once, then every third of the lease (at most every 2 s), each on its own. */
    async start(): Promise<void> {
      await runRenew();
      await runTick();
      timer = setInterval(
        () => {
          void runRenew();
          void runTick();
        },
        Math.max(200, Math.min(MAX_TICK_MS, leaseMs / 3)),
      );
      timer.unref();
    },
    /** Stops beating; frees this engine's pinned tasks for the others and removes its row. */
    async close(): Promise<void> {
      clearInterval(timer);
      while (ticking || renewing) await (ticking ?? renewing);
      await sql
        .write(async (runner) => {
          await unpin(runner, owner);
          await forgetServers(sql, runner, owner, new Date(0).toISOString());
        })
        .catch((error: unknown) => log.error({ err: error }, 'could not sign this server off'));
    },
  };
}
