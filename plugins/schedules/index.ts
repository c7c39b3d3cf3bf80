import { definePlugin, version } from 'apflow';
import { createFireRunner } from './fire-runner.ts';
import { migrations } from './migrations.ts';
import { createScheduleMetrics } from './schedule-metrics.ts';
import { mountScheduleMethods } from './schedule-methods.ts';
import { createScheduleService } from './schedule-service.ts';
import { createScheduleStore } from './schedule-store.ts';
import { createScheduler } from './scheduler.ts';
import { SchedulesSettings } from './settings.ts';
import { mountWebhookRoute } from './webhook-route.ts';

/** What the schedules plugin offers (`app.service('schedules')`): the CLI's way in. */
export interface SchedulesService {
  /** Calls `schedules.<method>` as the operator (no principal: every schedule). */
  call(method: string, params: unknown): Promise<unknown>;
}

declare module 'apflow' {
  interface KernelServices {
    schedules: SchedulesService;
  }
}

/**
 * Schedules: task trees that run by themselves — on a cron expression in a time zone, every N
 * seconds, once at a time, or when a signed webhook arrives — exactly once per fire time across
 * every worker and server on the database.
 */
export default definePlugin({
  name: 'schedules',
  version,
  description: 'Task trees run by cron, interval, once or webhook; exactly once per fire across servers',
  config: { key: 'schedules', schema: SchedulesSettings },
  migrations,
  setup(app) {
    const settings = app.settings;
    const store = createScheduleStore(app);
    const metrics = createScheduleMetrics(app);
    const runner = createFireRunner(app, store, metrics);
    const scheduler = createScheduler(app, store, runner, settings, metrics);
    const service = createScheduleService(app, { store, runner, scheduler, settings });
    mountScheduleMethods(app, service);
    mountWebhookRoute(app, service, settings);
    app.healthSection('schedules', () => store.summary());
    let calls = 0;
    app.provide('schedules', {
      call: (method, params) =>
        app.rpc.call('/tasks', `schedules.${method}`, params, {
          principal: undefined,
          log: app.log,
          request: {
            id: `schedules-cli.${(calls += 1)}`,
            transport: 'stdio',
            method: `schedules.${method}`,
            url: 'cli:',
            headers: {},
            ip: '127.0.0.1',
            state: {},
          },
        }),
    });
    // Servers fire schedules; one-shot commands (the CLI) only change them. A generation set up
    // after the start (a reload) starts at once.
    if (app.engine.serving()) scheduler.start();
    else app.onDispose(app.engine.onStart(({ resume }) => (resume ? scheduler.start() : undefined)));
    app.onDispose(() => scheduler.stop());
  },
});
