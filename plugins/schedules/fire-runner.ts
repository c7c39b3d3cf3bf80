import { ApflowError, errorMessage, isApflowError, TERMINAL_STATUSES, type PluginApp } from 'apflow';
import { fireRootId, fireTasks } from './fire-tasks.ts';
import type { ScheduleMetrics } from './schedule-metrics.ts';
import type { FireOutcome, FireRow, ScheduleRow } from './schedule-row.ts';

export type { FireOutcome };
import type { ScheduleStore } from './schedule-store.ts';

/** Thrown when another server took a fire over while this one was still starting it. */
const TAKEN_OVER = new ApflowError('APF_CONFLICT', { message: 'another server took this fire over' });

/**
 * Starts fires: each creates its tree (ids pinned to the fire, so a fire taken over after a crash
 * finds the tree its first server created instead of making a second) for the schedule's owner,
 * and executes it, after applying the schedule's overlap policy.
 */
export function createFireRunner(app: PluginApp, store: ScheduleStore, metrics: ScheduleMetrics) {
  const leaseMs = app.config.engine.lease_s * 1000;

  /**
   * Whether this server still holds `fire`, renewing its claim. A claim of its own with more than
   * half its lease left needs no write: no server takes a fire over before its claim runs out.
   */
  async function hold(fire: FireRow): Promise<boolean> {
    const until = fire.claimed_until === null ? 0 : Date.parse(fire.claimed_until);
    if (fire.owner === app.serverId && until - Date.now() > leaseMs / 2) return true;
    const renewed = new Date(Date.now() + leaseMs).toISOString();
    if (!(await store.hold(fire, app.serverId, renewed))) return false;
    fire.owner = app.serverId;
    fire.claimed_until = renewed;
    return true;
  }
  /** The template's tasks now: the stored array, or a copy of the template tree. */
  async function template(schedule: ScheduleRow): Promise<Record<string, unknown>[]> {
    if (schedule.tasks) return schedule.tasks;
    const id = schedule.template_task_id ?? '';
    const found = await app.tasks.get(id);
    if (!found || (found.user_id !== null && found.user_id !== schedule.user_id))
      throw new ApflowError('APF_NOT_FOUND', { message: `the schedule's template tree ${id} no longer exists` });
    const copy = await app.engine.copy(found.root_id, { copy_mode: 'full', save: false, user_id: schedule.user_id });
    if (!('saved' in copy)) throw new ApflowError('APF_INTERNAL', { message: 'a copy with save: false stored a tree' });
    return copy.tasks.map((task): Record<string, unknown> => ({ ...task }));
  }

  /** Whether the schedule's previous run has not ended (a run begun, or created and not yet begun). */
  async function previousRunning(schedule: ScheduleRow, rootId: string): Promise<string | null> {
    const previous = schedule.last_root_task_id;
    if (!previous || previous === rootId) return null;
    const root = await app.tasks.get(previous);
    return root && !TERMINAL_STATUSES.has(root.status) ? previous : null;
  }

  async function create(schedule: ScheduleRow, fire: FireRow, rootId: string): Promise<FireOutcome | undefined> {
    const running = await previousRunning(schedule, rootId);
    if (running && schedule.overlap === 'skip') return { state: 'skipped', root_task_id: null, error: null };
    if (running && schedule.overlap === 'cancel_previous')
      await app.engine.cancel([running], `Cancelled by schedule ${schedule.id}: a newer fire replaces this run`);
    const tasks = fireTasks(await template(schedule), schedule, fire.fire_key, [schedule.inputs, fire.inputs]);
    // A server that took longer than its claim must not create a tree the one that took the fire over creates.
    if (!(await store.hold(fire, app.serverId, new Date(Date.now() + leaseMs).toISOString()))) throw TAKEN_OVER;
    try {
      await app.engine.createTree(tasks, { userId: schedule.user_id, exactIds: true });
    } catch (error) {
      // Another server created this fire's tree meanwhile (it took the fire over): the caller
      // finds that tree and starts it, never a second one under other ids.
      if (!isApflowError(error) || error.code !== 'APF_CONFLICT') throw error;
    }
    return undefined;
  }

  /**
   * Starts one claimed fire and records how it ended up. Never throws: a failure is the fire's
   * outcome. The schedule is read again first: its last run may be newer than when it was claimed.
   */
  async function start(claimed: ScheduleRow, fire: FireRow): Promise<FireOutcome> {
    const rootId = fireRootId(claimed, fire.fire_key);
    let outcome: FireOutcome;
    const schedule = await store.fresh(claimed.id).catch(() => claimed);
    if (!schedule) return { state: 'failed', root_task_id: null, error: `schedule ${claimed.id} was deleted` };
    try {
      const existing = await app.tasks.get(rootId);
      const skipped = existing ? undefined : await create(schedule, fire, rootId);
      if (skipped) outcome = skipped;
      else {
        const root = existing ?? (await app.tasks.get(rootId));
        if (!root || root.user_id !== schedule.user_id)
          throw new ApflowError('APF_CONFLICT', { message: `task ${rootId} exists and is not this schedule's run` });
        if (root.status === 'pending' && !root.active_run) {
          // Only while this server still holds the fire: one that took it over starts it itself.
          if (!(await hold(fire))) throw TAKEN_OVER;
          const answer = await app.engine.execute(rootId);
          // The outcome is the tree's own (streams, webhooks, the dashboard); nothing here waits for it.
          if (answer.started) answer.done.catch(() => undefined);
        }
        outcome = { state: 'started', root_task_id: rootId, error: null };
      }
    } catch (error) {
      // A server stopping leaves the fire claimed: another one takes it over once the claim runs
      // out; a fire another server took over is that server's to record.
      if (error === TAKEN_OVER || (isApflowError(error) && error.code === 'APF_UNAVAILABLE'))
        return { state: 'failed', root_task_id: null, error: errorMessage(error) };
      outcome = { state: 'failed', root_task_id: null, error: errorMessage(error) };
      app.log.warn({ schedule_id: schedule.id, fire_at: fire.fire_at, err: error }, 'a schedule fire failed');
    }
    try {
      await store.settle(fire, outcome.state, outcome.root_task_id, outcome.error);
    } catch (error) {
      // The fire stays claimed: once its claim runs out another look takes it over and finds its tree.
      app.log.warn({ schedule_id: schedule.id, fire_at: fire.fire_at, err: error }, 'could not record a fire');
    }
    metrics.fired(fire, outcome.state);
    return outcome;
  }

  return { start };
}

/** Starts fires. */
export type FireRunner = ReturnType<typeof createFireRunner>;
