import type { OtlpProtocol } from './telemetry-plan.ts';

/** The OpenTelemetry packages an enabled server uses, loaded on demand. */
export interface SdkModules {
  api: typeof import('@opentelemetry/api');
  trace: typeof import('@opentelemetry/sdk-trace');
  core: typeof import('@opentelemetry/core');
  resources: typeof import('@opentelemetry/resources');
  contextHooks: typeof import('@opentelemetry/context-async-hooks');
  /** The OTLP exporter of the protocol asked for (both export `OTLPTraceExporter`). */
  exporter:
    | typeof import('@opentelemetry/exporter-trace-otlp-proto')
    | typeof import('@opentelemetry/exporter-trace-otlp-http');
}

/**
 * Imports the SDK and the exporter of `protocol`. Only an enabled server calls this: a server with
 * telemetry off loads none of these packages (the kernel itself uses `@opentelemetry/api` alone).
 */
export async function loadSdk(protocol: OtlpProtocol): Promise<SdkModules> {
  const [api, trace, core, resources, contextHooks, exporter] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/context-async-hooks'),
    protocol === 'http/json'
      ? import('@opentelemetry/exporter-trace-otlp-http')
      : import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  return { api, trace, core, resources, contextHooks, exporter };
}
