import { definePlugin, isAdmin, mayAccess, version } from 'apflow';

/**
 * The `/system` JSON-RPC endpoint: server health and the executors it can run. Other plugins
 * add their own `/system` methods (e.g. `config.llm_key.*`) through `app.rpc.method`.
 */
export default definePlugin({
  name: 'system',
  version,
  setup(app) {
    app.rpc.method('/system', 'system.health', {
      description: 'Server health, as GET /health reports it',
      async handler(_params, ctx) {
        const report = await app.health();
        // With authentication on, a user sees only their own running trees and tasks (administrators all).
        const roots = app.engine.runningRoots();
        const own = ctx.principal && !isAdmin(ctx.principal) ? ctx.principal.user_id : undefined;
        const visible =
          own === undefined
            ? roots.length
            : (await app.tasks.getMany(roots)).filter((root) => mayAccess(ctx.principal, root.user_id)).length;
        if (own !== undefined)
          report.tasks = {
            running: (await app.tasks.count({ user_id: own, root_only: false })).in_progress ?? 0,
            trees: visible,
          };
        return {
          ...report,
          status: report.status === 'unavailable' ? 'unhealthy' : 'healthy',
          message: report.status === 'unavailable' ? 'apflow cannot reach its database' : 'apflow is healthy',
          timestamp: new Date().toISOString(),
          running_tasks_count: visible,
        };
      },
    });
    app.rpc.method('/system', 'system.executors', {
      description: 'The executors this server can run',
      handler() {
        const executors = app.executors.list().map((entry) => ({
          id: entry.definition.id,
          name: entry.definition.name ?? entry.definition.id,
          description: entry.definition.description ?? '',
          // JSON Schema of the inputs (TypeBox schemas are JSON Schema), or null when unchecked.
          input_schema: entry.definition.inputSchema ?? null,
          source: entry.source.startsWith('plugin:') ? entry.source : 'executors folder',
          loaded_at: entry.loadedAt,
        }));
        return { executors, count: executors.length };
      },
    });
  },
});
