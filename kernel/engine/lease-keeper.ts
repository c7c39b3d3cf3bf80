import type { Logger } from '../internal/logger.ts';
import { leasesLost, othersLeases, pinOwners, renewLeases, runsWithoutId, unpin } from '../storage/queries/leases.ts';
import { beat, forgetServers, listServers } from '../storage/queries/servers.ts';
import { pruneEvents } from '../storage/queries/task-events.ts';
import type { Sql } from '../storage/sql.ts';
import { isOwnerGone } from './engine-owner.ts';
import { recoverTasks } from './recover-tasks.ts';
import { startRuns } from './start-run.ts';
import type { Transact } from './transactor.ts';

/** How often old events are pruned. */
const PRUNE_EVERY_MS = 10 * 60 * 1000;
/** Heartbeats at least this often, whatever the lease (the safety-net poll rides on them). */
const MAX_TICK_MS = 2000;

/**
 * The engine's heartbeat: renews the leases of the tasks it runs and its row in
 * `apflow_servers`, aborts runs it no longer holds (cancelled or taken over), and — on a server
 * — sweeps: takes back tasks whose engine stopped (expired lease, or a process of this host that
 * is gone), frees tasks pinned to engines that are gone, resumes runs an older apflow left
 * behind, and prunes old events.
 */
export function createLeaseKeeper(options: {
  sql: Sql;
  owner: string;
  leaseMs: number;
  eventRetentionMs: number;
  runningHere: () => string[];
  lost: (ids: string[]) => void;
  transact: Transact;
  sweeping: () => boolean;
  afterTick: () => Promise<void>;
  log: Logger;
}) {
  const { sql, owner, leaseMs, log } = options;
  const startedAt = new Date().toISOString();
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | null = null;
  let lastPrune = 0;

  const sweep = async () => {
    const now = Date.now();
    const dead = (await othersLeases(sql, owner)).filter(
      (lease) => !lease.lease_expires_at || Date.parse(lease.lease_expires_at) < now || isOwnerGone(lease.lease_owner),
    );
    if (dead.length) {
      const recovered = await options.transact((tx) => recoverTasks(tx, dead));
      if (recovered) log.warn({ tasks: recovered }, 'took back tasks whose server stopped');
    }
    const pinned = (await pinOwners(sql)).filter((pin) => pin !== owner);
    if (pinned.length) {
      const fresh = new Date(now - 2 * leaseMs).toISOString();
      const alive = new Set(
        (await listServers(sql)).filter((server) => server.heartbeat_at >= fresh).map((server) => server.id),
      );
      for (const pin of pinned) {
        if (alive.has(pin) && !isOwnerGone(pin)) continue;
        log.warn({ engine: pin }, 'the server that held some runs is gone; any server may run their tasks now');
        await sql.write((runner) => unpin(runner, pin));
      }
    }
    for (const rootId of await runsWithoutId(sql)) {
      log.warn({ root_task_id: rootId }, 'resuming a tree an older apflow left running');
      await options.transact((tx) => startRuns(tx, [{ taskId: rootId, pinnedTo: null, resume: true }]));
    }
    if (now - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = now;
      await sql.write((runner) => pruneEvents(sql, runner, new Date(now - options.eventRetentionMs).toISOString()));
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
        await renewLeases(sql, runner, owner, new Date(now.getTime() + leaseMs).toISOString());
        await beat(sql, runner, owner, now.toISOString(), startedAt);
      });
      const here = options.runningHere();
      if (here.length) {
        const lost = await leasesLost(sql, here, owner);
        // A run that started after the read above is not lost: only the ones still here count.
        const still = new Set(options.runningHere());
        const gone = [...lost].filter((id) => still.has(id));
        if (gone.length) options.lost(gone);
      }
    } catch (error) {
      log.error({ err: error }, 'engine heartbeat failed');
    }
  };
  const tick = async () => {
    try {
      if (options.sweeping()) await sweep();
      await options.afterTick();
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
