import type { TracerProvider } from '@opentelemetry/sdk-trace';
import type { TraceIdGenerator } from 'apflow';
import type { SdkModules } from './sdk-modules.ts';
import type { SamplerPlan, TelemetryPlan } from './telemetry-plan.ts';

/** Spans the exporter sent, and those it could not (the receiver refused them, or was unreachable). */
export interface ExportCounts {
  exported: number;
  failed: number;
}

/** What the provider is built with besides the plan. */
export interface ProviderParts {
  sdk: SdkModules;
  /** apflow's version and this server's id: `service.version`, `service.instance.id`. */
  version: string;
  serverId: string;
  /** The kernel's (`createTraceIdGenerator`): its pinned ids nest task spans across servers. */
  idGenerator: TraceIdGenerator;
  /** Told when exports start failing (once per run of failures) and when they work again. */
  onExportChange(failing: boolean, message: string): void;
}

/** How often the batch processor sends what it gathered (spans are sent sooner when 512 wait). */
const EXPORT_DELAY_MS = 1000;

/** The SDK's tracer provider for `plan`: OTLP over HTTP through a batch processor, counting what it sends. */
export function buildProvider(
  plan: TelemetryPlan,
  parts: ProviderParts,
): { provider: TracerProvider; counts: ExportCounts } {
  const { sdk } = parts;
  const exporter = new sdk.exporter.OTLPTraceExporter({
    url: plan.endpoint,
    headers: plan.headers,
    timeoutMillis: plan.timeoutMs,
  });
  const counts: ExportCounts = { exported: 0, failed: 0 };
  let failing = false;
  const resource = sdk.resources.defaultResource().merge(
    sdk.resources.resourceFromAttributes({
      ...plan.resourceAttributes,
      'service.name': plan.serviceName,
      'service.version': parts.version,
      'service.instance.id': parts.serverId,
    }),
  );
  const provider = new sdk.trace.TracerProvider({
    resource,
    sampler: buildSampler(sdk, plan.sampler),
    idGenerator: parts.idGenerator,
    spanProcessors: [
      new sdk.trace.BatchSpanProcessor({
        exporter: {
          export(spans, done) {
            exporter.export(spans, (result) => {
              const ok = result.code === sdk.core.ExportResultCode.SUCCESS;
              if (ok) counts.exported += spans.length;
              else counts.failed += spans.length;
              if (ok === failing) {
                failing = !ok;
                parts.onExportChange(failing, failing ? redacted(result.error, plan.headers) : '');
              }
              done(result);
            });
          },
          shutdown: () => exporter.shutdown(),
          forceFlush: () => exporter.forceFlush(),
        },
        scheduledDelayMillis: EXPORT_DELAY_MS,
        exportTimeoutMillis: plan.timeoutMs,
      }),
    ],
  });
  return { provider, counts };
}

function buildSampler(sdk: SdkModules, plan: SamplerPlan) {
  const { AlwaysOnSampler, AlwaysOffSampler, TraceIdRatioBasedSampler, ParentBasedSampler } = sdk.trace;
  const root =
    plan.root === 'always_on'
      ? new AlwaysOnSampler()
      : plan.root === 'always_off'
        ? new AlwaysOffSampler()
        : new TraceIdRatioBasedSampler(plan.root);
  return plan.parentBased ? new ParentBasedSampler({ root }) : root;
}

/** An export error's message, bounded, with any header value (a credential a receiver echoed) cut out. */
function redacted(error: Error | undefined, headers: Record<string, string>): string {
  let message = error?.message ?? 'export failed';
  for (const value of Object.values(headers)) {
    if (value.length >= 4) message = message.split(value).join('[redacted]');
  }
  return message.slice(0, 300);
}
