import type { TaskRow } from 'apflow';
import type { FireRow, ScheduleRow } from './schedule-row.ts';

/** The path of a webhook trigger. */
export const webhookPath = (webhookId: string) => `/webhooks/${webhookId}`;

/** A schedule as the API answers it (never its webhook key). */
export function scheduleJson(row: ScheduleRow, baseUrl: string | undefined) {
  return {
    id: row.id,
    name: row.name,
    user_id: row.user_id,
    template_task_id: row.template_task_id,
    tasks: row.tasks,
    trigger: row.trigger_type,
    cron: row.cron,
    timezone: row.timezone,
    interval_s: row.interval_s,
    at: row.at_time,
    overlap: row.overlap,
    catch_up: row.catch_up,
    catch_up_max: row.catch_up_max,
    inputs: row.inputs,
    enabled: row.enabled,
    max_runs: row.max_runs,
    starts_at: row.starts_at,
    ends_at: row.ends_at,
    runs: row.runs,
    skipped: row.skipped,
    missed: row.missed,
    next_fire_at: row.next_fire_at,
    last_fire_at: row.last_fire_at,
    last_root_task_id: row.last_root_task_id,
    webhook: row.webhook_id !== null,
    ...(row.webhook_id ? { webhook_url: `${baseUrl ?? ''}${webhookPath(row.webhook_id)}` } : {}),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** A schedule as answered. */
export type ScheduleJson = ReturnType<typeof scheduleJson>;

/** One fire as answered, with its tree's status now (null when it has no tree, or the tree was deleted). */
export function fireJson(fire: FireRow, root: TaskRow | null | undefined) {
  return {
    fire_at: fire.fire_at,
    kind: fire.kind,
    state: fire.state,
    root_task_id: fire.root_task_id,
    status: root?.status ?? null,
    fired_at: fire.fired_at,
    error: fire.error,
  };
}
