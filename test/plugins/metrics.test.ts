import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { eventually, freePort, launchApflow, repoRoot, rpc, testApp, type SpawnedApflow } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** One sample line: `name{label="value",…} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed scrape: families by name (with HELP and TYPE) and every sample. */
interface Exposition {
  families: Map<string, { help: string; type: string }>;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\["\\\\n])*"';
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{((?:${LABEL}=${LABEL_VALUE})(?:,${LABEL}=${LABEL_VALUE})*)?,?\\})? (\\S+)(?: -?\\d+)?$`,
);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/**
 * Parses Prometheus text exposition (format 0.0.4) strictly: every line is a HELP, a TYPE
 * (before the family's samples, once), or a sample of a declared family with valid labels and
 * a float value; histograms have a `+Inf` bucket equal to their count, and cumulative buckets.
 */
function parseExposition(text: string): Exposition {
  const families = new Map<string, { help: string; type: string }>();
  const samples: Sample[] = [];
  const help = new Map<string, string>();
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  for (const line of text.split('\n').slice(0, -1)) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      assert.match(name, new RegExp(`^${NAME}$`), `metric name ${name}`);
      if (kind === 'HELP') {
        assert.ok(!help.has(name), `one HELP for ${name}`);
        help.set(name, rest);
      } else {
        assert.ok(TYPES.has(rest), `TYPE of ${name}: ${rest}`);
        assert.ok(!families.has(name), `one TYPE for ${name}`);
        assert.ok(
          !samples.some((sample) => familyOf(sample.name, families) === name),
          `TYPE of ${name} before its samples`,
        );
        families.set(name, { help: help.get(name) ?? '', type: rest });
      }
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment line: ${line}`);
    const match = SAMPLE.exec(line);
    assert.ok(match, `sample syntax: ${line}`);
    const [, name, labelText, valueText] = match as unknown as [string, string, string | undefined, string];
    const value =
      valueText === '+Inf'
        ? Infinity
        : valueText === '-Inf'
          ? -Infinity
          : valueText === 'NaN'
            ? NaN
            : Number(valueText);
    assert.ok(!Number.isNaN(value) || valueText === 'NaN', `sample value: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (labelText ?? '').matchAll(new RegExp(`(${LABEL})=(${LABEL_VALUE})`, 'g'))) {
      assert.ok(!((key as string) in labels), `label ${key} once: ${line}`);
      labels[key as string] = (raw as string).slice(1, -1).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    assert.ok(familyOf(name, families), `sample of a declared family: ${line}`);
    samples.push({ name, labels, value });
  }
  for (const [name, family] of families) {
    assert.ok(family.help, `HELP for ${name}`);
    if (family.type === 'histogram') checkHistogram(name, samples);
  }
  return { families, samples };
}

function familyOf(sample: string, families: Map<string, { type: string }>): string | undefined {
  if (families.has(sample)) return sample;
  for (const [name, family] of families) {
    if ((SUFFIXES[family.type] ?? []).some((suffix) => sample === `${name}${suffix}`)) return name;
  }
  return undefined;
}

function checkHistogram(name: string, samples: Sample[]): void {
  const series = new Map<string, Sample[]>();
  for (const sample of samples.filter((each) => each.name === `${name}_bucket`)) {
    const { le, ...rest } = sample.labels;
    assert.ok(le !== undefined, `${name}_bucket has le`);
    const key = JSON.stringify(rest);
    series.set(key, [...(series.get(key) ?? []), sample]);
  }
  for (const [key, buckets] of series) {
    const values = buckets.map((bucket) => bucket.value);
    assert.deepEqual(
      values,
      [...values].sort((a, b) => a - b),
      `${name}${key} buckets are cumulative`,
    );
    const inf = buckets.find((bucket) => bucket.labels.le === '+Inf');
    const count = samples.find((sample) => sample.name === `${name}_count` && JSON.stringify(sample.labels) === key);
    assert.ok(inf && count, `${name}${key} has a +Inf bucket and a count`);
    assert.equal(inf.value, count.value, `${name}${key}: +Inf bucket equals count`);
  }
}

/** The sum of the samples named `name` whose labels include `labels`. */
function total(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  return exposition.samples
    .filter(
      (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** Scrapes `base`/metrics and parses it strictly. */
async function scrape(base: string): Promise<{ text: string; exposition: Exposition }> {
  const response = await fetch(`${base}/metrics`, { headers: { connection: 'close' } });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  return { text, exposition: parseExposition(text) };
}

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
    for (const leak of [secret, 'supersecret', rootId, 'token', 'password', 'expected']) {
      assert.ok(!text.includes(leak), `the scrape does not contain ${leak}`);
    }
  },
);

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
    const run = await app.engine.execute(tree.id);
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
