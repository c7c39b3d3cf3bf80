import { definePlugin, Type, version } from 'apflow';
import { createExamplesService, type ExamplesService } from './examples-service.ts';

export type { ExamplesService, InitReport } from './examples-service.ts';

declare module 'apflow' {
  interface KernelServices {
    examples: ExamplesService;
  }
}

const Settings = Type.Object(
  { auto_init: Type.Boolean({ default: true }) },
  { additionalProperties: false, default: {} },
);

/**
 * Example task trees a beginner can run as they are, with no API key: created when a server
 * starts on a database without any task (config `examples.auto_init`), or by
 * `apflow examples init [--force]`.
 */
export default definePlugin({
  name: 'examples',
  version,
  description: 'Example task trees on a fresh database; apflow examples init',
  config: { key: 'examples', schema: Settings },
  setup(app) {
    const settings = app.settings;
    const service = createExamplesService(app);
    app.provide('examples', service);

    // Once per process, when a server's engine starts (one-shot commands start it with resume: false).
    if (settings.auto_init) {
      const off = app.engine.onStart(async ({ resume }) => {
        if (!resume || !(await service.isEmpty())) return;
        const report = await service.init();
        app.log.info(
          { created: report.created.map((tree) => tree.id), skipped: report.skipped },
          'example task trees created on an empty database',
        );
      });
      app.onDispose(off);
    }

    // The REST example calls this server: once the port actually listened on is known (the first
    // request tells it; `server.port` may be 0), the example's URL is pointed at it.
    // Requests arriving meanwhile wait for it, so a first `tasks.execute` already sees the new URL.
    let pointing: Promise<unknown> | undefined;
    let pointed = false;
    app.http.addHook('onRequest', async (request) => {
      if (pointed) return;
      const port = request.raw.socket?.localPort;
      if (!port) return;
      pointing ??= service
        .pointAtSelf(port)
        .catch((err: unknown) => app.log.warn({ err }, 'could not point the REST example at this server'))
        .finally(() => (pointed = true));
      await pointing;
    });
  },
});
