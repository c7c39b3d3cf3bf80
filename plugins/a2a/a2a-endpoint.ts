import type { ServerResponse } from 'node:http';
import type { PluginApp } from 'apflow';
import { A2A_METHODS } from './a2a-methods.ts';
import type { A2aCallDeps } from './a2a-calls.ts';
import { loadOnce } from 'apflow';

/**
 * Answers A2A's JSON-RPC methods on `POST /` (every method of `/` that apflow's own plugins do
 * not register), with the handler of a2a-calls.ts. Shutdown and reload end its open streams.
 */
export function mountA2aEndpoint(app: PluginApp, deps: Omit<A2aCallDeps, 'open'>): void {
  const open = new Set<ServerResponse>();
  // Shutdown and reload end the streams at once; clients resubscribe (tasks/resubscribe, SubscribeToTask).
  app.onClosing(() => {
    for (const res of open) res.end();
  });
  // The SDK (about 230 KB with OpenTelemetry's API) loads with the first A2A call, not at start.
  const calls = loadOnce(async () => (await import('./a2a-calls.ts')).createA2aCalls(app, { ...deps, open }));
  const about = {
    title: 'A2A methods',
    description: `The A2A protocol, answered by the a2a plugin: v0.3 names (no \`A2A-Version\` header, or 0.3): ${A2A_METHODS['0.3'].join(', ')}; v1.0 names (\`A2A-Version: 1.0\`): ${A2A_METHODS['1.0'].join(', ')}. Params as in the A2A specification; see plugins/a2a/README.md.`,
    methods: [...A2A_METHODS['0.3'], ...A2A_METHODS['1.0']],
  };
  app.rpc.fallback('/', async (call, ctx) => (await calls())(call, ctx), about);
}
