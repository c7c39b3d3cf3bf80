import { ApflowError, definePlugin, version } from 'apflow';
import { envNames } from './env-keys.ts';
import { heldHeaderKey, holdHeaderKey, parseHeaderKey } from './header-key.ts';
import { migrations } from './migrations.ts';

/**
 * LLM keys for executors, through the `keyResolve` hook: the request's `X-LLM-API-KEY` header
 * (stage -100, for the trees that request created or started, in memory only), then — between
 * them — per-user config (the llm-key-config extension, stage 0), then the environment (stage 100).
 */
export default definePlugin({
  name: 'llm-keys',
  version,
  migrations,
  setup(app) {
    const sql = app.storage.sql;
    const recorded = new Set<string>();

    app.hooks.request.tapPromise('llm-keys', async (request) => {
      const key = parseHeaderKey(request.headers['x-llm-api-key']);
      if (!key) return;
      holdHeaderKey(request.state, key);
      // The key lives in this process only: runs this request starts stay on this server.
      request.pin = 'X-LLM-API-KEY';
    });

    // Remember (without the key) which trees run with a header key, and forget them when they end.
    app.hooks.progress.tap('llm-keys', (event) => {
      const root = event.root_task_id;
      if (event.type === 'final') {
        if (recorded.delete(root)) {
          sql
            .write((tx) => tx.run('DELETE FROM llm_keys_header_runs WHERE root_task_id = ?', [root]))
            .catch((error: unknown) => app.log.warn({ err: error }, 'could not forget a header-key run'));
        }
        return;
      }
      if (recorded.has(root) || !heldHeaderKey(app.engine.requestState(root))) return;
      recorded.add(root);
      sql
        .write(async (tx) => {
          await tx.run('DELETE FROM llm_keys_header_runs WHERE root_task_id = ?', [root]);
          await tx.run(`INSERT INTO llm_keys_header_runs (root_task_id, created_at) VALUES (?, ${sql.time})`, [
            root,
            new Date().toISOString(),
          ]);
        })
        .catch((error: unknown) => app.log.warn({ err: error }, 'could not record a header-key run'));
    });

    app.hooks.keyResolve.tapPromise({ name: 'llm-keys', stage: -100 }, async (request) => {
      const held = heldHeaderKey(request.request_state);
      if (held) return !held.provider || held.provider === request.provider ? held.key : undefined;
      if (request.root_task_id && !request.request_state) {
        const [row] = await sql.select('SELECT 1 AS hit FROM llm_keys_header_runs WHERE root_task_id = ?', [
          request.root_task_id,
        ]);
        if (row) {
          throw new ApflowError('APF_UNAVAILABLE', {
            message:
              'The LLM API key sent with X-LLM-API-KEY for this run is no longer available (the server restarted while the tree ran); run it again with the header',
          });
        }
      }
      return undefined;
    });

    app.hooks.keyResolve.tapPromise({ name: 'llm-keys', stage: 100 }, async (request) => {
      for (const name of envNames(request.provider)) {
        const value = app.env[name];
        if (value) return value;
      }
      return undefined;
    });
  },
});
