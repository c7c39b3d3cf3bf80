import assert from 'node:assert/strict';
import { test } from 'node:test';
import { started, eventually, testApp } from '../helpers.ts';
import { fixtures, total, scrape } from './metrics-setup.ts';

test(
  'running tasks, trees and open streams are gauges; a reload keeps the process metrics and counts itself',
  { timeout: 30_000 },
  async (t) => {
    // One slot: of two ready sleeps, one runs and one waits in the queue.
    const app = await testApp(t, { executors: { dirs: [fixtures] }, engine: { concurrency: 1 } });
    const { url: base } = await app.listen({ host: '127.0.0.1', port: 0 });
    const tree = await app.engine.createTree([
      { id: 'slow', name: 'root', params: { executor_id: 'noop' } },
      { id: 'slow-a', name: 'sleep a', parent_id: 'slow', params: { executor_id: 'sleep' }, inputs: { ms: 750 } },
      { id: 'slow-b', name: 'sleep b', parent_id: 'slow', params: { executor_id: 'sleep' }, inputs: { ms: 750 } },
    ]);
    const run = started(await app.engine.execute(tree.id));
    const stream = new AbortController();
    const response = await fetch(`${base}/tasks/${tree.id}/events`, { signal: stream.signal });
    assert.equal(response.status, 200);

    const busy = (await scrape(base)).exposition;
    assert.equal(total(busy, 'apflow_tasks_running'), 1);
    assert.equal(total(busy, 'apflow_queue_depth'), 1, 'the other sleep waits for the slot');
    assert.equal(total(busy, 'apflow_trees_running'), 1);
    assert.equal(total(busy, 'apflow_stream_subscribers', { channel: 'sse' }), 1);
    assert.equal(total(busy, 'apflow_stream_subscribers', { channel: 'websocket' }), 0);
    stream.abort();
    await response.body?.cancel().catch(() => undefined);
    await eventually(
      async () => total((await scrape(base)).exposition, 'apflow_stream_subscribers', { channel: 'sse' }) === 0,
    );
    await run.done;
    const idle = (await scrape(base)).exposition;
    assert.equal(total(idle, 'apflow_tasks_running'), 0);
    assert.equal(total(idle, 'apflow_queue_depth'), 0);
    assert.equal(total(idle, 'apflow_trees_running'), 0);
    assert.equal(total(idle, 'apflow_task_duration_seconds_count', { executor: 'sleep' }), 2);
    assert.ok(
      total(idle, 'apflow_task_duration_seconds_sum', { executor: 'sleep' }) >= 1.4,
      'each sleep ran about 0.75 s',
    );
    assert.equal(total(idle, 'apflow_plugin_reloads_total'), 0);

    await app.reload();
    const reloaded = await scrape(base);
    assert.equal(total(reloaded.exposition, 'apflow_plugin_reloads_total'), 1);
    // A new generation, new counters: the task counters start again (the README says so).
    assert.equal(total(reloaded.exposition, 'apflow_task_duration_seconds_count'), 0);
    assert.equal(total(reloaded.exposition, 'apflow_http_requests_total', { route: '/metrics' }), 0);
    assert.ok(reloaded.exposition.families.has('process_cpu_user_seconds_total'));
    await app.reload();
    assert.equal(total((await scrape(base)).exposition, 'apflow_plugin_reloads_total'), 2);
  },
);
