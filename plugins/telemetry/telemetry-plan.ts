import { envBoolean, envList, envNumber, firstEnv, invalid, type Env } from './env-values.ts';
import type { TelemetryConfig } from './settings.ts';

/** The wire format of the exports. */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

/**
 * Which traces are kept: `root` decides a trace that starts here (always, never, or a share of
 * trace ids); `parentBased` makes a span with a parent follow its parent's decision.
 */
export interface SamplerPlan {
  root: 'always_on' | 'always_off' | number;
  parentBased: boolean;
}

/** Everything the SDK is built from: the config section, with the OTEL_* environment where it is silent. */
export interface TelemetryPlan {
  /** The full traces URL the exporter posts to. */
  endpoint: string;
  /** Sent with each export; secret. */
  headers: Record<string, string>;
  protocol: OtlpProtocol;
  timeoutMs: number;
  sampler: SamplerPlan;
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES (service.name excluded: `serviceName` has it). */
  resourceAttributes: Record<string, string>;
  detail: TelemetryConfig['detail'];
}

const DEFAULT_ENDPOINT = 'http://localhost:4318/v1/traces';
const TRACES_PATH = 'v1/traces';
const SAMPLERS: Record<string, SamplerPlan | 'ratio' | 'parentbased_ratio'> = {
  always_on: { root: 'always_on', parentBased: false },
  always_off: { root: 'always_off', parentBased: false },
  traceidratio: 'ratio',
  parentbased_always_on: { root: 'always_on', parentBased: true },
  parentbased_always_off: { root: 'always_off', parentBased: true },
  parentbased_traceidratio: 'parentbased_ratio',
};

/**
 * Whether traces are exported: `telemetry.enabled` when the config sets it, else off when
 * `OTEL_SDK_DISABLED` is true, else `APFLOW_TELEMETRY_ENABLED`, else off.
 */
export function telemetryEnabled(settings: TelemetryConfig, env: Env): boolean {
  if (settings.enabled !== undefined) return settings.enabled;
  if (envBoolean(env, 'OTEL_SDK_DISABLED') === true) return false;
  return envBoolean(env, 'APFLOW_TELEMETRY_ENABLED') ?? false;
}

/** Resolves the plan; a bad value (config or environment) throws `APF_CONFIG_INVALID` naming it. */
export function resolvePlan(settings: TelemetryConfig, env: Env): TelemetryPlan {
  const { otlp } = settings;
  const resourceAttributes = envList(env, 'OTEL_RESOURCE_ATTRIBUTES');
  const serviceName =
    settings.service_name ??
    firstEnv(env, 'OTEL_SERVICE_NAME')?.value ??
    resourceAttributes['service.name'] ??
    'apflow';
  delete resourceAttributes['service.name'];
  return {
    endpoint: resolveEndpoint(otlp.endpoint, env),
    headers: {
      ...envList(env, 'OTEL_EXPORTER_OTLP_HEADERS'),
      ...envList(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
      ...otlp.headers,
    },
    protocol: otlp.protocol ?? envProtocol(env),
    timeoutMs:
      otlp.timeout_ms ??
      envNumber(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 1, 600_000) ??
      envNumber(env, 'OTEL_EXPORTER_OTLP_TIMEOUT', 1, 600_000) ??
      10_000,
    sampler:
      settings.sampler_ratio === undefined ? envSampler(env) : { root: settings.sampler_ratio, parentBased: true },
    serviceName,
    resourceAttributes,
    detail: settings.detail,
  };
}

/** The endpoint as logs and `/health` show it: no user, password, query or fragment. */
export function shownEndpoint(endpoint: string): string {
  const url = new URL(endpoint);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  return url.href;
}

function resolveEndpoint(configured: string | undefined, env: Env): string {
  if (configured !== undefined) return checkedUrl(configured, 'telemetry.otlp.endpoint', true);
  const traces = firstEnv(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (traces) return checkedUrl(traces.value, traces.name, false);
  const base = firstEnv(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (!base) return DEFAULT_ENDPOINT;
  const url = new URL(checkedUrl(base.value, base.name, false));
  url.pathname = url.pathname.endsWith('/') ? `${url.pathname}${TRACES_PATH}` : `${url.pathname}/${TRACES_PATH}`;
  return url.href;
}

/** `value` as an http(s) URL; the message never repeats it (it may hold a password). */
function checkedUrl(value: string, name: string, pathDefault: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`${name} must be an http:// or https:// URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`${name} must be an http:// or https:// URL (OTLP over HTTP; gRPC is not supported)`);
  }
  if (pathDefault && url.pathname === '/') url.pathname = `/${TRACES_PATH}`;
  return url.href;
}

function envProtocol(env: Env): OtlpProtocol {
  const set = firstEnv(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL');
  if (!set) return 'http/protobuf';
  if (set.value === 'http/protobuf' || set.value === 'http/json') return set.value;
  if (set.value === 'grpc') {
    throw invalid(`environment variable ${set.name}: grpc is not supported; use http/protobuf or http/json`);
  }
  throw invalid(`environment variable ${set.name} must be http/protobuf or http/json, got '${set.value}'`);
}

function envSampler(env: Env): SamplerPlan {
  const set = firstEnv(env, 'OTEL_TRACES_SAMPLER');
  if (!set) return { root: 'always_on', parentBased: true };
  const name = set.value.toLowerCase();
  const kind = Object.hasOwn(SAMPLERS, name) ? SAMPLERS[name] : undefined;
  if (kind === undefined) {
    throw invalid(
      `environment variable OTEL_TRACES_SAMPLER: '${set.value}' is not supported (${Object.keys(SAMPLERS).join(', ')})`,
    );
  }
  if (typeof kind !== 'string') return kind;
  const ratio = envNumber(env, 'OTEL_TRACES_SAMPLER_ARG', 0, 1) ?? 1;
  return { root: ratio, parentBased: kind === 'parentbased_ratio' };
}
