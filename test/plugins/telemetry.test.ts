import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { isRecord, version, type App } from 'apflow';
import { memoryLog, testApp } from '../helpers.ts';
import { otlpReceiver } from './otlp-receiver.ts';

// The telemetry plugin's export path: a span made through @opentelemetry/api's global tracer (as
// the kernel makes its own) reaches a real OTLP/HTTP receiver in JSON and in protobuf, with the
// resource attributes and the configured headers. One file, one process: the apps follow each
// other, so each test also shows a later app taking over the process's provider.

const API_KEY = 'otlp-secret-key-6f2a9c';

/** Ends a span `name` made through the global API, then flushes the app's exporter. */
async function exportSpan(app: App, name: string) {
  trace
    .getTracer('test', '1.0.0')
    .startSpan(name, { attributes: { 'test.n': 7 } })
    .end();
  const telemetry = app.service('telemetry');
  assert.ok(telemetry?.enabled);
  await telemetry.flush();
}

for (const protocol of ['http/json', 'http/protobuf'] as const) {
  test(`a span reaches the OTLP receiver over ${protocol} with the resource and the configured headers`, async (t) => {
    const receiver = await otlpReceiver(t);
    const log = memoryLog();
    const app = await testApp(
      t,
      {
        log: { level: 'info' },
        telemetry: { enabled: true, otlp: { endpoint: receiver.url, protocol, headers: { 'x-api-key': API_KEY } } },
      },
      { logStream: log.stream },
    );
    await exportSpan(app, `span-${protocol}`);

    const span = await receiver.waitFor((spans) => spans.find((one) => one.name === `span-${protocol}`));
    assert.match(span.traceId, /^[0-9a-f]{32}$/);
    assert.match(span.spanId, /^[0-9a-f]{16}$/);
    assert.equal(span.parentSpanId, undefined);
    assert.equal(span.attributes['test.n'], 7);
    assert.deepEqual(span.scope, { name: 'test', version: '1.0.0' });
    assert.equal(span.resource['service.name'], 'apflow');
    assert.equal(span.resource['service.version'], version);
    assert.equal(typeof span.resource['service.instance.id'], 'string');
    assert.ok(String(span.resource['service.instance.id']).length > 0);

    const sent = receiver.exports.at(-1);
    assert.equal(sent?.contentType, protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
    assert.equal(sent?.headers['x-api-key'], API_KEY);

    const health = (await app.health()).telemetry;
    assert.ok(isRecord(health));
    assert.ok(Number(health.exported_spans) >= 1, 'the exported spans are counted');
    assert.deepEqual(
      { ...health, exported_spans: 1 },
      {
        enabled: true,
        endpoint: receiver.url,
        protocol,
        sampler: 'parentbased_always_on',
        exported_spans: 1,
        failed_spans: 0,
      },
    );
    const started = log.lines.find((line) => line.msg === 'telemetry: exporting traces');
    assert.deepEqual([started?.endpoint, started?.protocol], [receiver.url, protocol]);
    assert.ok(!log.text().includes(API_KEY), 'the header value is never logged');
    assert.ok(!JSON.stringify(health).includes(API_KEY), 'nor shown in /health');
  });
}

test('the OTEL_* environment alone configures it (endpoint, headers, protocol, service name, resource)', async (t) => {
  const receiver = await otlpReceiver(t);
  const app = await testApp(
    t,
    {},
    {
      env: {
        APFLOW_TELEMETRY_ENABLED: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.base,
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20env-token,x-tenant=t1',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'apflow-env',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,service.name=ignored',
      },
    },
  );
  await exportSpan(app, 'from-env');

  const span = await receiver.waitFor((spans) => spans.find((one) => one.name === 'from-env'));
  assert.equal(span.resource['service.name'], 'apflow-env');
  assert.equal(span.resource['deployment.environment'], 'test');
  const sent = receiver.exports.at(-1);
  assert.equal(sent?.contentType, 'application/json');
  assert.equal(sent?.headers.authorization, 'Bearer env-token');
  assert.equal(sent?.headers['x-tenant'], 't1');
});

test('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is, and the config wins over the environment', async (t) => {
  const receiver = await otlpReceiver(t);
  const app = await testApp(
    t,
    { telemetry: { enabled: true, service_name: 'from-config', otlp: { protocol: 'http/protobuf' } } },
    {
      env: {
        APFLOW_TELEMETRY_ENABLED: 'false',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/never',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'from-env',
      },
    },
  );
  await exportSpan(app, 'config-wins');
  const span = await receiver.waitFor((spans) => spans.find((one) => one.name === 'config-wins'));
  assert.equal(span.resource['service.name'], 'from-config');
  assert.equal(receiver.exports.at(-1)?.contentType, 'application/x-protobuf');
});

test('sampler_ratio 0 exports nothing', async (t) => {
  const receiver = await otlpReceiver(t);
  const app = await testApp(t, { telemetry: { enabled: true, sampler_ratio: 0, otlp: { endpoint: receiver.url } } });
  const span = trace.getTracer('test').startSpan('dropped');
  assert.equal(span.isRecording(), false);
  span.end();
  // flush() resolves after every export under way has been answered: nothing was sent.
  await app.service('telemetry')?.flush();
  assert.deepEqual(receiver.spans, []);
  assert.deepEqual(receiver.exports, []);
  const health = (await app.health()).telemetry;
  assert.ok(isRecord(health));
  assert.deepEqual([health.sampler, health.exported_spans], ['parentbased_traceidratio(0)', 0]);
});

test('a refused export is counted and logged once, without the header value; flush rejects', async (t) => {
  const receiver = await otlpReceiver(t, { refuse: (headers) => `bad key ${String(headers['x-api-key'])}` });
  const log = memoryLog();
  const app = await testApp(
    t,
    { telemetry: { enabled: true, otlp: { endpoint: receiver.url, headers: { 'x-api-key': API_KEY } } } },
    { logStream: log.stream },
  );
  for (const name of ['refused-1', 'refused-2']) {
    trace.getTracer('test').startSpan(name).end();
    await assert.rejects(app.service('telemetry')?.flush() ?? Promise.resolve());
  }
  const health = (await app.health()).telemetry;
  assert.ok(isRecord(health));
  assert.deepEqual([health.exported_spans, health.failed_spans], [0, 2]);
  const warnings = log.lines.filter((line) => line.msg === 'telemetry export failed');
  assert.equal(warnings.length, 1, 'one warning for a run of failures');
  assert.equal(warnings[0]?.endpoint, receiver.url);
  assert.ok(!log.text().includes(API_KEY), 'the header value is never logged');
});

test('two apps in one process share one provider: closing the first loses none of the second’s spans', async (t) => {
  const receiver = await otlpReceiver(t);
  const log = memoryLog();
  const settings = { telemetry: { enabled: true, otlp: { endpoint: receiver.url } } };
  const first = await testApp(t, settings);
  const second = await testApp(t, { ...settings, log: { level: 'warn' } }, { logStream: log.stream });
  const warned = log.lines.find((line) => String(line.msg).includes('another app of this process'));
  assert.ok(warned, 'the second app says whose settings apply');

  await exportSpan(second, 'while-both');
  await first.close();
  await exportSpan(second, 'after-first-closed');
  const names = await receiver.waitFor((spans) => {
    const seen = spans.map((span) => span.name);
    return seen.includes('while-both') && seen.includes('after-first-closed') && seen;
  });
  assert.equal(names.filter((name) => name === 'while-both').length, 1, 'each span is exported once');
});
