import { randomBytes, randomUUID } from 'node:crypto';
import { ApflowError, checkTaskTree, isRecord, mayChange, type PluginApp, type Principal } from 'apflow';
import type { CreateInput, PreviewInput, UpdateInput } from './schedule-params.ts';
import type { ScheduleRow, TriggerType } from './schedule-row.ts';
import type { SchedulesConfig } from './settings.ts';
import { checkLastingSeal, sealRootInputs } from './template-root.ts';
import { checkCron, checkTimezone, nextFireAfter, upcoming } from './triggers.ts';

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });
const forbidden = (message: string) => new ApflowError('APF_FORBIDDEN', { message });

function time(value: string, field: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalid(`${field}: '${value}' is not an ISO-8601 time (e.g. 2026-12-24T09:00:00Z)`);
  return new Date(ms).toISOString();
}

/** What a create or an update answers besides the schedule: the webhook secret, when one was made. */
export interface BuiltSchedule {
  row: ScheduleRow;
  webhookSecret?: string;
}

/**
 * The schedule a `schedules.create` (no `existing`) or `schedules.update` makes, checked: one
 * template and one trigger, valid cron and time zone, an owner the caller may act for, a
 * template tree the owner may read, the stored template's secret inputs sealed, and its next fire.
 */
export async function buildSchedule(
  app: PluginApp,
  settings: SchedulesConfig,
  input: CreateInput | UpdateInput,
  principal: Principal | undefined,
  existing?: ScheduleRow,
): Promise<BuiltSchedule> {
  const nowMs = Date.now();
  const now = new Date(nowMs).toISOString();
  let owner = existing ? existing.user_id : (principal?.user_id ?? null);
  if (input.user_id !== undefined) {
    if (!mayChange(principal, input.user_id))
      throw forbidden('Permission denied: you can only make schedules for yourself');
    owner = input.user_id;
  }
  const row: ScheduleRow = existing
    ? { ...existing, user_id: owner, updated_at: now }
    : {
        id: randomUUID(),
        name: input.name ?? '',
        user_id: owner,
        template_task_id: null,
        tasks: null,
        trigger_type: 'webhook',
        cron: null,
        timezone: 'UTC',
        interval_s: null,
        at_time: null,
        overlap: 'skip',
        catch_up: 'one',
        catch_up_max: settings.catch_up_max,
        inputs: null,
        enabled: true,
        max_runs: null,
        starts_at: null,
        ends_at: null,
        runs: 0,
        skipped: 0,
        missed: 0,
        next_fire_at: null,
        last_fire_at: null,
        last_root_task_id: null,
        version: 0,
        webhook_id: null,
        webhook_key: null,
        fire_salt: randomBytes(16).toString('hex'),
        created_at: now,
        updated_at: now,
      };
  if (input.name !== undefined) row.name = input.name;
  await setTemplate(app, row, input, principal, !existing || input.user_id !== undefined);
  const triggerChanged = setTrigger(row, input, nowMs, !existing);
  if (input.overlap !== undefined) row.overlap = input.overlap;
  if (input.catch_up !== undefined) row.catch_up = input.catch_up;
  if (input.catch_up_max !== undefined) {
    if (input.catch_up_max > settings.catch_up_max)
      throw invalid(`catch_up_max: at most ${settings.catch_up_max} on this server (schedules.catch_up_max)`);
    row.catch_up_max = input.catch_up_max;
  }
  if (input.inputs !== undefined || input.tasks !== undefined || input.template_task_id !== undefined) {
    // Sealed for the template's root, whose executor decides what is secret (a new template may decide otherwise).
    const plain = input.inputs === undefined ? row.inputs : input.inputs;
    row.inputs = await sealRootInputs(app, row, plain);
    if (input.inputs !== undefined) checkLastingSeal(app, row.inputs, plain, 'inputs');
  }
  if (input.max_runs !== undefined) row.max_runs = input.max_runs;
  if (input.starts_at !== undefined)
    row.starts_at = input.starts_at === null ? null : time(input.starts_at, 'starts_at');
  if (input.ends_at !== undefined) row.ends_at = input.ends_at === null ? null : time(input.ends_at, 'ends_at');
  const resumed = input.enabled === true && existing?.enabled === false;
  if (input.enabled !== undefined) row.enabled = input.enabled;
  row.next_fire_at = nextFire(row, nowMs, triggerChanged || resumed || !existing);
  const boundsChanged = input.starts_at !== undefined || input.ends_at !== undefined || input.max_runs !== undefined;
  if (
    (triggerChanged || boundsChanged || !existing) &&
    row.enabled &&
    row.trigger_type !== 'webhook' &&
    row.next_fire_at === null &&
    (row.max_runs === null || row.runs < row.max_runs)
  )
    throw invalid('this schedule would never fire: its trigger has no time after now within starts_at and ends_at');
  const webhookSecret = setWebhook(app, row, input.webhook);
  return webhookSecret ? { row, webhookSecret } : { row };
}

async function setTemplate(
  app: PluginApp,
  row: ScheduleRow,
  input: CreateInput | UpdateInput,
  principal: Principal | undefined,
  fresh: boolean,
): Promise<void> {
  if (input.tasks !== undefined && input.template_task_id !== undefined)
    throw invalid('give either tasks (a tasks array) or template_task_id (an existing tree), not both');
  if (input.tasks !== undefined) {
    for (const task of input.tasks)
      if (typeof task.user_id === 'string' && task.user_id !== row.user_id)
        throw forbidden(
          `Permission denied: a schedule's tasks belong to its owner (a task names user_id ${task.user_id})`,
        );
    checkTaskTree(input.tasks);
    const max = app.config.engine.max_tree_size;
    if (input.tasks.length > max) throw invalid(`A tree holds at most ${max} tasks; got ${input.tasks.length}`);
    row.tasks = input.tasks.map((task) => {
      const selectable = {
        name: String(task.name),
        params: isRecord(task.params) ? task.params : null,
        schemas: isRecord(task.schemas) ? task.schemas : null,
        inputs: isRecord(task.inputs) ? task.inputs : null,
      };
      if (!selectable.inputs) return task;
      const sealed = app.tasks.sealInputs(selectable);
      checkLastingSeal(app, sealed, selectable.inputs, `task '${selectable.name}' of the template`);
      return { ...task, inputs: sealed };
    });
    row.template_task_id = null;
  } else if (input.template_task_id !== undefined || (fresh && row.template_task_id)) {
    const id = input.template_task_id ?? row.template_task_id ?? '';
    const task = await app.tasks.visible(id, principal);
    if (!task) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${id} not found` });
    if (task.user_id !== null && task.user_id !== row.user_id)
      throw forbidden(`the template tree ${task.root_id} belongs to another user than the schedule's owner`);
    row.template_task_id = task.root_id;
    row.tasks = null;
  }
  if (!row.tasks && !row.template_task_id)
    throw invalid('a schedule needs a template: tasks (a tasks array) or template_task_id (an existing tree)');
}

/** Sets the trigger the input names, if it names one; true when it changed. */
function setTrigger(
  row: Pick<ScheduleRow, 'trigger_type' | 'cron' | 'timezone' | 'interval_s' | 'at_time'>,
  input: Pick<CreateInput, 'cron' | 'interval_s' | 'at' | 'timezone' | 'webhook'>,
  nowMs: number,
  fresh: boolean,
): boolean {
  const given = (['cron', 'interval_s', 'at'] as const).filter((key) => input[key] !== undefined);
  if (given.length === 0 && input.timezone === undefined) {
    if (fresh && !input.webhook)
      throw invalid(
        'a schedule needs a trigger: cron, interval_s or at (or webhook: true for one fired only by its webhook and schedules.trigger)',
      );
    return false;
  }
  const set = given.filter((key) => input[key] !== null);
  if (set.length > 1) throw invalid(`give one trigger: cron, interval_s or at (got ${set.join(' and ')})`);
  if (given.length > 0) {
    const type: TriggerType =
      input.cron != null ? 'cron' : input.interval_s != null ? 'interval' : input.at != null ? 'once' : 'webhook';
    row.trigger_type = type;
    row.cron = input.cron ?? null;
    row.interval_s = input.interval_s ?? null;
    row.at_time = input.at == null ? null : time(input.at, 'at');
    if (row.at_time && Date.parse(row.at_time) <= nowMs) throw invalid(`at: ${input.at} is in the past`);
  }
  if (input.timezone !== undefined) {
    if (row.trigger_type !== 'cron') throw invalid('timezone applies to cron schedules only');
    checkTimezone(input.timezone);
    row.timezone = input.timezone;
  }
  if (row.trigger_type !== 'cron') row.timezone = 'UTC';
  if (row.cron) checkCron(row.cron, row.timezone);
  return true;
}

/** The next fire: from now when the trigger is new or the schedule resumed, else the stored one (bounds applied). */
function nextFire(row: ScheduleRow, nowMs: number, fromNow: boolean): string | null {
  if (!row.enabled) return null;
  if (row.max_runs !== null && row.runs >= row.max_runs) return null;
  const stored = row.next_fire_at === null ? null : Date.parse(row.next_fire_at);
  const next = fromNow || stored === null ? nextFireAfter(row, nowMs, nowMs) : stored;
  if (next === null || (row.ends_at !== null && next > Date.parse(row.ends_at))) return null;
  return new Date(next).toISOString();
}

/** Adds or removes the webhook; answers the new secret (shown once). */
function setWebhook(app: PluginApp, row: ScheduleRow, webhook: boolean | undefined): string | undefined {
  if (webhook === false) {
    row.webhook_id = null;
    row.webhook_key = null;
    return undefined;
  }
  if (webhook !== true || row.webhook_id) return undefined;
  if (!app.secrets.durable)
    throw invalid(
      'webhook: true needs a lasting secrets key (secrets.key or APFLOW_SECRETS_KEY, see docs/configuration.md): without one the webhook secret could not be checked after a restart',
    );
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  row.webhook_id = randomBytes(16).toString('hex');
  row.webhook_key = app.secrets.seal(secret);
  return secret;
}

/**
 * Whether `principal` may see and change `row`: its owner, an administrator, or anyone with
 * authentication off. A schedule of nobody runs as nobody: only administrators see it.
 */
export function mayUse(principal: Principal | undefined, row: ScheduleRow): boolean {
  return mayChange(principal, row.user_id);
}

/**
 * `schedules.preview`: the first `count` fire times a trigger would give after `from` (default
 * now), as a schedule created then would fire them.
 */
export function previewFires(input: PreviewInput): string[] {
  const fromMs = input.from === undefined ? Date.now() : Date.parse(time(input.from, 'from'));
  const row: Pick<
    ScheduleRow,
    'trigger_type' | 'cron' | 'timezone' | 'interval_s' | 'at_time' | 'starts_at' | 'ends_at'
  > = {
    trigger_type: 'webhook',
    cron: null,
    timezone: 'UTC',
    interval_s: null,
    at_time: null,
    starts_at: input.starts_at == null ? null : time(input.starts_at, 'starts_at'),
    ends_at: input.ends_at == null ? null : time(input.ends_at, 'ends_at'),
  };
  setTrigger(row, { ...input, webhook: false }, input.at ? -Infinity : fromMs, true);
  const first = nextFireAfter(row, fromMs, fromMs);
  return first === null ? [] : upcoming(row, first, input.count ?? 5).map((ms) => new Date(ms).toISOString());
}
