import { randomUUID } from 'node:crypto';
import { ApflowError, isAdmin, type PluginApp, type Principal } from 'apflow';
import type { FireRunner } from './fire-runner.ts';
import { buildSchedule, mayUse, previewFires, type BuiltSchedule } from './schedule-input.ts';
import { fireJson, scheduleJson } from './schedule-json.ts';
import type { CreateInput, PreviewInput, UpdateInput } from './schedule-params.ts';
import type { FireKind, FireRow, ScheduleRow } from './schedule-row.ts';
import type { ScheduleStore } from './schedule-store.ts';
import type { Scheduler } from './scheduler.ts';
import type { SchedulesConfig } from './settings.ts';
import { sealRootInputs } from './template-root.ts';
import { upcoming } from './triggers.ts';

/** Who calls, and the server's address as they reach it (for webhook URLs). */
export interface ScheduleCaller {
  principal: Principal | undefined;
  baseUrl?: string;
}

const RECENT_RUNS = 10;
const UPCOMING = 5;
const notFound = (id: string) => new ApflowError('APF_NOT_FOUND', { message: `Schedule ${id} not found` });

/**
 * The schedules' operations, for JSON-RPC, the webhook route and the CLI alike: a caller sees and
 * changes only their own schedules (administrators all; everyone with authentication off).
 */
export function createScheduleService(
  app: PluginApp,
  parts: { store: ScheduleStore; runner: FireRunner; scheduler: Scheduler; settings: SchedulesConfig },
) {
  const { store, runner, scheduler, settings } = parts;
  const leaseMs = app.config.engine.lease_s * 1000;
  const base = (caller: ScheduleCaller) => app.config.server.base_url?.replace(/\/$/, '') ?? caller.baseUrl;

  async function load(id: string, caller: ScheduleCaller): Promise<ScheduleRow> {
    const row = await store.get(id);
    if (!row || !mayUse(caller.principal, row)) throw notFound(id);
    return row;
  }

  /**
   * Saves what `make` builds from the stored schedule; a fire claimed (or another change saved)
   * in between bumps its version, and the change is made again on the new one (a few times).
   */
  async function change(id: string, caller: ScheduleCaller, make: (existing: ScheduleRow) => Promise<BuiltSchedule>) {
    for (let attempt = 1; ; attempt++) {
      const built = await make(await load(id, caller));
      if (await store.save(built.row)) {
        scheduler.wake();
        return { ...built, row: (await store.get(id)) ?? built.row };
      }
      if (attempt === 5)
        throw new ApflowError('APF_CONFLICT', {
          message: `Schedule ${id} keeps changing (fires or other changes): try again`,
        });
    }
  }

  async function recentRuns(id: string, limit: number) {
    const fires = await store.fires(id, limit);
    const roots = await app.tasks.getMany(fires.flatMap((fire) => (fire.root_task_id ? [fire.root_task_id] : [])));
    const byId = new Map(roots.map((root) => [root.id, root]));
    return fires.map((fire) => fireJson(fire, fire.root_task_id ? byId.get(fire.root_task_id) : null));
  }

  /** Fires `row` now (a manual trigger or a webhook) and answers how it went. */
  async function fireNow(row: ScheduleRow, kind: FireKind, key: string, inputs: Record<string, unknown> | null) {
    const nowMs = Date.now();
    const fire: FireRow = {
      schedule_id: row.id,
      fire_key: key,
      fire_at: new Date(nowMs).toISOString(),
      kind,
      state: 'claimed',
      root_task_id: null,
      inputs: await sealRootInputs(app, row, inputs),
      owner: app.serverId,
      claimed_until: new Date(nowMs + leaseMs).toISOString(),
      fired_at: new Date(nowMs).toISOString(),
      error: null,
    };
    if (!(await store.addFire(fire)))
      throw new ApflowError('APF_CONFLICT', {
        message: 'This request fired the schedule before (a replay): nothing was run',
      });
    const outcome = await runner.start(row, fire);
    return { schedule_id: row.id, fire_at: fire.fire_at, kind, ...outcome };
  }

  return {
    async create(input: CreateInput, caller: ScheduleCaller) {
      const { row, webhookSecret } = await buildSchedule(app, settings, input, caller.principal);
      if (caller.principal && !isAdmin(caller.principal) && (await store.countOf(row.user_id)) >= settings.max_per_user)
        throw new ApflowError('APF_FORBIDDEN', {
          message: `a user may have at most ${settings.max_per_user} schedules (schedules.max_per_user)`,
        });
      await store.insert(row);
      scheduler.wake();
      return { ...scheduleJson(row, base(caller)), ...(webhookSecret ? { webhook_secret: webhookSecret } : {}) };
    },
    async get(id: string, caller: ScheduleCaller) {
      const row = await load(id, caller);
      const next = row.next_fire_at === null ? [] : upcoming(row, Date.parse(row.next_fire_at), UPCOMING);
      return {
        ...scheduleJson(row, base(caller)),
        upcoming: next.map((ms) => new Date(ms).toISOString()),
        recent_runs: await recentRuns(id, RECENT_RUNS),
      };
    },
    async list(
      query: { user_id?: string; enabled?: boolean; due?: boolean; limit?: number; offset?: number },
      caller: ScheduleCaller,
    ) {
      const principal = caller.principal;
      if (query.user_id !== undefined && principal && !isAdmin(principal) && query.user_id !== principal.user_id)
        throw new ApflowError('APF_FORBIDDEN', { message: 'Permission denied: you can only list your own schedules' });
      const userId = query.user_id ?? (principal && !isAdmin(principal) ? principal.user_id : undefined);
      const rows = await store.list({
        userId,
        enabled: query.due ? true : query.enabled,
        dueBy: query.due ? new Date().toISOString() : undefined,
        limit: query.limit ?? 100,
        offset: query.offset ?? 0,
      });
      return rows.filter((row) => mayUse(principal, row)).map((row) => scheduleJson(row, base(caller)));
    },
    async update(input: UpdateInput, caller: ScheduleCaller) {
      const { row, webhookSecret } = await change(input.id, caller, (existing) =>
        buildSchedule(app, settings, input, caller.principal, existing),
      );
      return { ...scheduleJson(row, base(caller)), ...(webhookSecret ? { webhook_secret: webhookSecret } : {}) };
    },
    async remove(id: string, caller: ScheduleCaller) {
      await load(id, caller);
      await store.remove(id);
      return { id, deleted: true };
    },
    async setEnabled(id: string, enabled: boolean, caller: ScheduleCaller) {
      const { row } = await change(id, caller, async (existing) =>
        existing.enabled === enabled
          ? { row: existing }
          : buildSchedule(app, settings, { id, enabled }, caller.principal, existing),
      );
      return scheduleJson(row, base(caller));
    },
    async trigger(id: string, inputs: Record<string, unknown> | undefined, caller: ScheduleCaller) {
      return fireNow(await load(id, caller), 'manual', `manual:${randomUUID()}`, inputs ?? null);
    },
    preview: (input: PreviewInput) => ({ fires: previewFires(input) }),
    async runs(id: string, limit: number | undefined, caller: ScheduleCaller) {
      await load(id, caller);
      return recentRuns(id, limit ?? 50);
    },
    /** Fires the schedule of webhook `webhookId` with `inputs`; `key` makes a replay of one request fire nothing. */
    fireWebhook: (row: ScheduleRow, key: string, inputs: Record<string, unknown> | null) =>
      fireNow(row, 'webhook', `webhook:${key}`, inputs),
    byWebhook: (webhookId: string) => store.byWebhook(webhookId),
  };
}

/** The schedules' operations. */
export type ScheduleService = ReturnType<typeof createScheduleService>;
