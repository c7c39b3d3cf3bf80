import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { eventually, freePort, launchApflow, type SpawnedApflow } from '../helpers.ts';
import { total, scrape } from './metrics-setup.ts';

const launch = (t: TestContext, args: string[]): SpawnedApflow =>
  launchApflow(t, args, { env: { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' } });

test('--workers 2: one scrape aggregates every worker', { timeout: 60_000 }, async (t) => {
  const port = await freePort();
  const proc = launch(t, ['serve', '--host', '127.0.0.1', '--port', String(port), '--workers', '2']);
  const base = `http://127.0.0.1:${port}`;
  await eventually(
    () => proc.stdout().includes('"workers":2') && proc.stdout().includes('"apflow listening"'),
    30_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\nstdout: ${proc.stdout()}\nstderr: ${proc.stderr()}`);
  });

  const requests = 60;
  const pids = new Set<number>();
  for (let i = 0; i < requests; i++) {
    const response = await fetch(`${base}/health`, { headers: { connection: 'close' } });
    pids.add(((await response.json()) as { workers: { pid: number } }).workers.pid);
  }
  assert.equal(pids.size, 2, 'both workers answered');

  for (let i = 0; i < 3; i++) {
    const { exposition } = await scrape(base);
    assert.equal(
      total(exposition, 'apflow_http_requests_total', { route: '/health', method: 'GET', status: '200' }),
      requests,
    );
    assert.equal(total(exposition, 'apflow_http_request_duration_seconds_count', { route: '/health' }), requests);
    // Process metrics are aggregated too (one family, not one per worker).
    assert.ok(exposition.families.has('process_resident_memory_bytes'));
  }
});
