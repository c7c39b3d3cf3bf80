import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, rpc, spawnApflow, waitListening } from '../helpers.ts';

/**
 * The README's Extensions section as written, in this clone: the extensions are npm workspaces
 * (`node_modules/@apflow/*` link to `extensions/*`, whose real path sees no `apflow` package),
 * named in a config in the clone, on a real `apflow serve`. Nothing is copied.
 */
test('in the clone, extensions named in a config load by package name, and a crew runs in demo mode', async (t) => {
  mkdirSync(join(repoRoot, '.scratch'), { recursive: true });
  const dir = mkdtempSync(join(repoRoot, '.scratch', 'extensions-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'apflow.config.yaml'),
    [
      "plugins: ['@apflow/crewai', '@apflow/llm-key-config']",
      `database: { url: 'sqlite:${join(dir, 'apflow.sqlite')}' }`,
      'examples: { auto_init: true }',
      'executors: { dirs: [] }',
    ].join('\n'),
  );
  const server = spawnApflow(
    ['serve', '--host', '127.0.0.1', '--port', '0', '--config', join(dir, 'apflow.config.yaml')],
    {
      cwd: repoRoot,
      env: { APFLOW_LLM_KEY_SECRET: 'clone-test-secret-0123456789abcdefghij' },
    },
  );
  t.after(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  const url = await waitListening(server);
  const health = (await (await fetch(`${url}/health`)).json()) as { plugins: string[] };
  assert.ok(health.plugins.includes('crewai') && health.plugins.includes('llm-key-config'), health.plugins.join());

  const answer = await rpc(url, '/tasks', {
    jsonrpc: '2.0',
    id: 1,
    method: 'tasks.execute',
    params: { task_id: 'example-crewai-demo', use_demo: true },
  });
  const result = answer.body?.result as { status: string; result: Record<string, unknown> } | undefined;
  assert.equal(result?.status, 'completed', JSON.stringify(answer.body));
  assert.equal(result.result.status, 'success');
  assert.equal(result.result.demo_mode, true);
});
