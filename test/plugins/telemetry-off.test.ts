import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { testApp } from '../helpers.ts';

// Telemetry off (the default) costs a server nothing: no SDK package loaded, no provider
// registered. Its own process (one test file), so no other test's app has loaded the SDK before.
// Bad settings stop the start with a message naming the key, and never repeating a secret.

const SDK_PACKAGES = [
  '@opentelemetry/sdk-trace',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/exporter-trace-otlp-proto',
  '@opentelemetry/resources',
  '@opentelemetry/context-async-hooks',
];
const INVALID_TRACE_ID = '0'.repeat(32);

/** The SDK packages this process has loaded (CommonJS packages, so in the require cache). */
function loadedSdkPackages(): string[] {
  const files = Object.keys(createRequire(import.meta.url).cache);
  return SDK_PACKAGES.filter((name) => files.some((file) => file.includes(`/node_modules/${name}/`)));
}

test('telemetry off by default: no SDK module loaded, no provider registered, the service says so', async (t) => {
  // An OTLP environment without the switch is not enough, and its bad values do not matter then.
  const app = await testApp(t, {}, { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_SERVICE_NAME: 'x' } });
  const span = trace.getTracer('test').startSpan('nothing');
  assert.equal(span.isRecording(), false);
  assert.equal(span.spanContext().traceId, INVALID_TRACE_ID, 'the API has no SDK provider: no-op spans');
  span.end();

  const telemetry = app.service('telemetry');
  assert.deepEqual([telemetry?.enabled, telemetry?.detail], [false, 'normal']);
  await telemetry?.flush();
  assert.deepEqual((await app.health()).telemetry, { enabled: false });
  assert.deepEqual(loadedSdkPackages(), []);

  const killed = await testApp(
    t,
    {},
    { env: { APFLOW_TELEMETRY_ENABLED: 'true', OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' } },
  );
  assert.equal(killed.service('telemetry')?.enabled, false, 'OTEL_SDK_DISABLED keeps it off');
  assert.deepEqual(loadedSdkPackages(), []);
});

/** The message of the start failure `inline` / `env` cause. */
async function startError(t: Parameters<typeof testApp>[0], inline: Record<string, unknown>, env = {}) {
  let caught: unknown;
  await testApp(t, inline, { env }).catch((error: unknown) => (caught = error));
  assert.ok(caught instanceof Error, 'the start is refused');
  return caught.message;
}

test('bad settings are refused at start, naming the key or variable', async (t) => {
  assert.match(await startError(t, { telemetry: { otlp: { protocol: 'grpc' } } }), /telemetry\.otlp\.protocol/);
  assert.match(await startError(t, { telemetry: { sampler_ratio: 2 } }), /telemetry\.sampler_ratio/);
  assert.match(await startError(t, { telemetry: { detail: 'all' } }), /telemetry\.detail/);
  assert.match(await startError(t, { telemetry: { exporter: 'zipkin' } }), /telemetry\.exporter: unknown key/);

  const on = { APFLOW_TELEMETRY_ENABLED: 'true' };
  assert.match(
    await startError(t, {}, { ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    /OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported; use http\/protobuf or http\/json/,
  );
  assert.match(await startError(t, {}, { ...on, OTEL_TRACES_SAMPLER: 'xray' }), /OTEL_TRACES_SAMPLER: 'xray'/);
  assert.match(
    await startError(t, {}, { ...on, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }),
    /OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/,
  );
  assert.match(await startError(t, {}, { APFLOW_TELEMETRY_ENABLED: 'maybe' }), /APFLOW_TELEMETRY_ENABLED/);

  // Credentials in a bad value are not repeated.
  for (const enabled of [true, false]) {
    const endpoint = await startError(t, { telemetry: { enabled, otlp: { endpoint: 'ftp://u:hunter22@x' } } });
    assert.match(endpoint, /telemetry\.otlp\.endpoint: must match pattern/);
    assert.ok(!endpoint.includes('hunter22'));
  }
  const unparsable = await startError(t, { telemetry: { enabled: true, otlp: { endpoint: 'http://u:hunter22@[x' } } });
  assert.match(unparsable, /telemetry\.otlp\.endpoint must be an http:\/\/ or https:\/\/ URL/);
  assert.ok(!unparsable.includes('hunter22'));
  const headers = await startError(t, {}, { ...on, OTEL_EXPORTER_OTLP_HEADERS: 'api-key=s3cr3t,broken-s3cr3t' });
  assert.match(headers, /OTEL_EXPORTER_OTLP_HEADERS: entry 2 is not key=value/);
  assert.ok(!headers.includes('s3cr3t'));

  assert.deepEqual(loadedSdkPackages(), [], 'a refused start loaded no SDK either');
});
