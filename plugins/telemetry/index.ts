import { createTraceIdGenerator, definePlugin, version, type Logger } from 'apflow';
import { buildProvider } from './build-provider.ts';
import { acquireTelemetry, type TelemetryLease } from './process-telemetry.ts';
import { loadSdk } from './sdk-modules.ts';
import { TelemetrySettings, type TelemetryConfig } from './settings.ts';
import {
  resolvePlan,
  shownEndpoint,
  telemetryEnabled,
  type SamplerPlan,
  type TelemetryPlan,
} from './telemetry-plan.ts';

/** What the telemetry plugin offers (`app.service('telemetry')`). */
export interface TelemetryService {
  /** Whether spans are exported (`telemetry.enabled`). */
  readonly enabled: boolean;
  /** `debug`: the kernel adds spans for the engine's database turns. */
  readonly detail: TelemetryConfig['detail'];
  /** Sends the spans ended so far to the receiver; resolves once it answered (at once when off). */
  flush(): Promise<void>;
}

declare module 'apflow' {
  interface KernelServices {
    telemetry: TelemetryService;
  }
}

/**
 * Traces over OpenTelemetry: installs the SDK behind the kernel's `@opentelemetry/api` spans (a
 * run, its tasks, their executor calls) and exports them with OTLP over HTTP (protobuf or JSON)
 * to a collector. Off by default; a server with it off loads no SDK package.
 */
export default definePlugin({
  name: 'telemetry',
  version,
  description: 'OpenTelemetry traces of runs, tasks and executor calls, exported over OTLP/HTTP',
  config: { key: 'telemetry', schema: TelemetrySettings },
  async setup(app) {
    const settings = app.settings;
    if (!telemetryEnabled(settings, app.env)) {
      app.provide('telemetry', { enabled: false, detail: settings.detail, flush: async () => {} });
      app.healthSection('telemetry', () => ({ enabled: false }));
      return;
    }
    const plan = resolvePlan(settings, app.env);
    const sdk = await loadSdk(plan.protocol);
    const lease = acquireTelemetry(sdk, fingerprint(plan, app.serverId), () => {
      const built = buildProvider(plan, {
        sdk,
        version,
        serverId: app.serverId,
        // The kernel's ids (pinned for its task spans, so they nest across servers); making it turns
        // the kernel's spans on.
        idGenerator: createTraceIdGenerator({ detail: plan.detail }),
        onExportChange(failing, message) {
          if (failing)
            app.log.warn({ endpoint: shownEndpoint(plan.endpoint), error: message }, 'telemetry export failed');
          else app.log.info({ endpoint: shownEndpoint(plan.endpoint) }, 'telemetry export works again');
        },
      });
      return { ...built, plan };
    });
    logStart(app.log, lease);
    app.provide('telemetry', { enabled: true, detail: settings.detail, flush: () => lease.flush() });
    app.healthSection('telemetry', () => healthOf(lease));
    return () => lease.release();
  },
});

/** The one start line: where spans go and how many, never the headers. */
function logStart(log: Logger, lease: TelemetryLease) {
  const { plan } = lease.active;
  const shown = {
    endpoint: shownEndpoint(plan.endpoint),
    protocol: plan.protocol,
    sampler: describeSampler(plan.sampler),
  };
  if (!lease.registered) {
    log.warn(shown, 'telemetry: another tracer provider is registered in this process; the kernel spans go to it');
  } else if (lease.shared) {
    log.warn(shown, 'telemetry: another app of this process set it up with other settings; its settings apply');
  } else {
    log.info({ ...shown, service: plan.serviceName }, 'telemetry: exporting traces');
  }
}

function healthOf(lease: TelemetryLease) {
  const { plan, counts } = lease.active;
  return {
    enabled: true,
    endpoint: shownEndpoint(plan.endpoint),
    protocol: plan.protocol,
    sampler: describeSampler(plan.sampler),
    exported_spans: counts.exported,
    failed_spans: counts.failed,
  };
}

/** `parentbased_traceidratio(0.25)`, `always_on`…: the OTEL_TRACES_SAMPLER name of the plan. */
function describeSampler(sampler: SamplerPlan): string {
  const root = typeof sampler.root === 'number' ? `traceidratio(${sampler.root})` : sampler.root;
  return sampler.parentBased ? `parentbased_${root}` : root;
}

/** Equal for apps that would build the same provider (header values included: they are compared, not shown). */
function fingerprint(plan: TelemetryPlan, serverId: string): string {
  return JSON.stringify([plan, serverId]);
}
