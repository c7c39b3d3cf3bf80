import type { PluginApp, RpcContext, Static } from 'apflow';
import {
  CreateParams,
  DueParams,
  IdParams,
  ListParams,
  PreviewParams,
  RunsParams,
  TriggerParams,
  UpdateParams,
} from './schedule-params.ts';
import type { ScheduleCaller, ScheduleService } from './schedule-service.ts';

/** The caller of a JSON-RPC call, and the server's address as they reached it. */
function callerOf(ctx: RpcContext): ScheduleCaller {
  const host = ctx.request.headers.host;
  const proto = ctx.request.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
  return { principal: ctx.principal, baseUrl: host ? `${proto}://${host}` : undefined };
}

/**
 * `schedules.*` on `/tasks`, and the original successor's names where they mean the same:
 * `tasks.scheduled.list`, `tasks.scheduled.due` (enabled schedules whose fire is due) and
 * `tasks.webhook.trigger` (fire now).
 */
export function mountScheduleMethods(app: PluginApp, service: ScheduleService): void {
  app.rpc.method('/tasks', 'schedules.create', {
    params: CreateParams,
    description: 'Create a schedule: a template tree run by cron, interval, once at a time, or a webhook',
    handler: (params, ctx) => service.create(params, callerOf(ctx)),
  });
  app.rpc.method('/tasks', 'schedules.get', {
    params: IdParams,
    description: 'One schedule, with its next fire and recent runs',
    handler: (params, ctx) => service.get(params.id, callerOf(ctx)),
  });
  const list = {
    params: ListParams,
    description: "Schedules, newest first (a user's own; administrators see all)",
    handler: (params: Static<typeof ListParams>, ctx: RpcContext) => service.list(params, callerOf(ctx)),
  };
  app.rpc.method('/tasks', 'schedules.list', list);
  app.rpc.method('/tasks', 'tasks.scheduled.list', { ...list, description: 'Alias of schedules.list' });
  app.rpc.method('/tasks', 'tasks.scheduled.due', {
    params: DueParams,
    description: 'Enabled schedules whose next fire is due now',
    handler: (params, ctx) => service.list({ ...params, due: true }, callerOf(ctx)),
  });
  app.rpc.method('/tasks', 'schedules.update', {
    params: UpdateParams,
    description: 'Change a schedule (a new trigger counts from now)',
    handler: (params, ctx) => service.update(params, callerOf(ctx)),
  });
  app.rpc.method('/tasks', 'schedules.delete', {
    params: IdParams,
    description: 'Delete a schedule and its fire records (its runs stay)',
    handler: (params, ctx) => service.remove(params.id, callerOf(ctx)),
  });
  app.rpc.method('/tasks', 'schedules.pause', {
    params: IdParams,
    description: 'Stop a schedule firing until it is resumed',
    handler: (params, ctx) => service.setEnabled(params.id, false, callerOf(ctx)),
  });
  app.rpc.method('/tasks', 'schedules.resume', {
    params: IdParams,
    description: 'Resume a paused schedule from now (fires missed while paused do not run)',
    handler: (params, ctx) => service.setEnabled(params.id, true, callerOf(ctx)),
  });
  const trigger = {
    params: TriggerParams,
    description: 'Fire a schedule now (also a paused one); its overlap policy applies',
    handler: (params: Static<typeof TriggerParams>, ctx: RpcContext) =>
      service.trigger(params.id, params.inputs, callerOf(ctx)),
  };
  app.rpc.method('/tasks', 'schedules.trigger', trigger);
  app.rpc.method('/tasks', 'tasks.webhook.trigger', { ...trigger, description: 'Alias of schedules.trigger' });
  app.rpc.method('/tasks', 'schedules.preview', {
    params: PreviewParams,
    description: 'The fire times a trigger (cron + timezone, interval_s or at) would give, from a time on',
    handler: (params) => service.preview(params),
  });
  app.rpc.method('/tasks', 'schedules.runs', {
    params: RunsParams,
    description: "A schedule's fires, newest first, with each run's status",
    handler: (params, ctx) => service.runs(params.id, params.limit, callerOf(ctx)),
  });
}
