import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, rpc, testApp } from '../helpers.ts';
import { fixtures, total, scrape } from './metrics-setup.ts';

test(
  '/metrics parses as Prometheus exposition and its counters move when tasks run',
  { timeout: 30_000 },
  async (t) => {
    const app = await testApp(t, { executors: { dirs: [fixtures] } });
    const { url: base } = await app.listen({ host: '127.0.0.1', port: 0 });

    const before = await scrape(base);
    for (const [name, type] of [
      ['apflow_http_requests_total', 'counter'],
      ['apflow_http_request_duration_seconds', 'histogram'],
      ['apflow_jsonrpc_calls_total', 'counter'],
      ['apflow_task_transitions_total', 'counter'],
      ['apflow_task_duration_seconds', 'histogram'],
      ['apflow_tasks_running', 'gauge'],
      ['apflow_trees_running', 'gauge'],
      ['apflow_tasks_pending', 'gauge'],
      ['apflow_queue_depth', 'gauge'],
      ['apflow_stream_subscribers', 'gauge'],
      ['apflow_stream_events_dropped_total', 'counter'],
      ['apflow_plugin_reloads_total', 'counter'],
      ['apflow_plugin_reload_failures_total', 'counter'],
      ['process_cpu_user_seconds_total', 'counter'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
    ] as const) {
      assert.equal(before.exposition.families.get(name)?.type, type, `${name} is a ${type}`);
    }
    assert.equal(total(before.exposition, 'apflow_task_transitions_total'), 0);

    // A tree: echo at the root, a noop and a failing child.
    const created = await rpc(base, '/', {
      jsonrpc: '2.0',
      id: 1,
      method: 'execute_task_tree',
      params: {
        tasks: [
          { id: 'root', name: 'echo', params: { executor_id: 'echo' } },
          { id: 'ok', name: 'noop', parent_id: 'root', params: { executor_id: 'noop' } },
          {
            id: 'bad',
            name: 'fail',
            parent_id: 'root',
            params: { executor_id: 'fail' },
            inputs: { message: 'expected' },
          },
        ],
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const rootId = (created.body?.result as { root_task_id: string }).root_task_id;

    const after = await eventually(async () => {
      const { text, exposition } = await scrape(base);
      return total(exposition, 'apflow_task_transitions_total', { to: 'completed' }) >= 2
        ? { text, exposition }
        : undefined;
    });
    const { exposition } = after;
    assert.equal(total(exposition, 'apflow_task_transitions_total', { from: 'pending', to: 'in_progress' }), 3);
    assert.equal(total(exposition, 'apflow_task_transitions_total', { from: 'in_progress', to: 'completed' }), 2);
    assert.equal(total(exposition, 'apflow_task_transitions_total', { from: 'in_progress', to: 'failed' }), 1);
    assert.equal(
      total(exposition, 'apflow_task_duration_seconds_count', { executor: 'echo', outcome: 'completed' }),
      1,
    );
    assert.equal(
      total(exposition, 'apflow_task_duration_seconds_count', { executor: 'noop', outcome: 'completed' }),
      1,
    );
    assert.equal(total(exposition, 'apflow_task_duration_seconds_count', { executor: 'fail', outcome: 'failed' }), 1);
    assert.equal(total(exposition, 'apflow_task_duration_seconds_bucket', { executor: 'fail', le: '+Inf' }), 1);
    assert.equal(
      total(exposition, 'apflow_jsonrpc_calls_total', { endpoint: '/', method: 'execute_task_tree', code: '0' }),
      1,
    );
    assert.equal(total(exposition, 'apflow_http_requests_total', { route: '/', method: 'POST', status: '200' }), 1);
    assert.equal(
      total(exposition, 'apflow_http_requests_total', { route: '/metrics', method: 'GET', status: '200' }) >= 1,
      true,
    );
    assert.equal(total(exposition, 'apflow_http_request_duration_seconds_count', { route: '/', method: 'POST' }), 1);

    // HTTP by route pattern and status, never the URL; JSON-RPC by method and code.
    const secret = 'sk-supersecret-0123456789';
    await fetch(`${base}/tasks/${rootId}/status?token=${secret}`, { headers: { 'x-llm-api-key': secret } });
    await fetch(`${base}/no/such/route?password=${secret}`);
    const unknown = await rpc(base, '/tasks', { jsonrpc: '2.0', id: 2, method: secret });
    assert.equal((unknown.body?.error as { code: number }).code, -32601);
    await rpc(base, '/tasks', { jsonrpc: '2.0', id: 3, method: 'tasks.nope' });
    await rpc(base, '/tasks', [
      { jsonrpc: '2.0', id: 4, method: 'tasks.count', params: {} },
      { jsonrpc: '2.0', id: 5, method: 'tasks.get', params: {} },
    ]);
    await rpc(base, '/tasks', '{not json');
    app.service('metrics')?.eventsDropped('sse', 2);

    const { text, exposition: later } = await scrape(base);
    assert.equal(
      total(later, 'apflow_http_requests_total', { route: '/tasks/:task_id/status', method: 'GET', status: '200' }),
      1,
    );
    assert.equal(total(later, 'apflow_http_requests_total', { route: '(unmatched)', method: 'GET', status: '404' }), 1);
    assert.equal(
      total(later, 'apflow_jsonrpc_calls_total', { endpoint: '/tasks', method: '(unknown)', code: '-32601' }),
      2,
    );
    assert.equal(
      total(later, 'apflow_jsonrpc_calls_total', { endpoint: '/tasks', method: 'tasks.count', code: '0' }),
      1,
    );
    assert.equal(
      total(later, 'apflow_jsonrpc_calls_total', { endpoint: '/tasks', method: 'tasks.get', code: '-32602' }),
      1,
    );
    assert.equal(
      total(later, 'apflow_jsonrpc_calls_total', { endpoint: '/tasks', method: '(invalid)', code: '-32700' }),
      1,
    );
    assert.equal(total(later, 'apflow_stream_events_dropped_total', { channel: 'sse' }), 2);
    for (const leak of [secret, 'supersecret', rootId, '?token=', 'password=', 'expected']) {
      assert.ok(!text.includes(leak), `the scrape does not contain ${leak}`);
    }
  },
);
