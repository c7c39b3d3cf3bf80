import type { TracerProvider } from '@opentelemetry/sdk-trace';
import type { ExportCounts } from './build-provider.ts';
import type { SdkModules } from './sdk-modules.ts';
import type { TelemetryPlan } from './telemetry-plan.ts';
import { createTracerSwitch } from './tracer-switch.ts';

/** The SDK provider spans go to, shared by every app and generation of the process that has telemetry on. */
export interface ActiveTelemetry {
  /** The plan's fingerprint: a later app with another one shares this provider (its own settings unused). */
  readonly key: string;
  readonly plan: TelemetryPlan;
  readonly provider: TracerProvider;
  readonly counts: ExportCounts;
  users: number;
}

/** One generation's hold on the active provider. */
export interface TelemetryLease {
  readonly active: ActiveTelemetry;
  /** Another app of this process started the provider with other settings: those apply. */
  readonly shared: boolean;
  /** Whether the API's global provider is ours (false: something else in the process registered one first). */
  readonly registered: boolean;
  /** Sends the spans ended so far. */
  flush(): Promise<void>;
  /** Sends the spans ended so far; the last holder shuts the provider down (which sends them too). */
  release(): Promise<void>;
}

/**
 * State that outlives apps and plugin reloads (which re-import this file): on `globalThis` under a
 * registered symbol. The API's globals take one registration per process, so they are set once
 * and point at whichever provider is active.
 */
interface TelemetryProcess {
  active: ActiveTelemetry | undefined;
  globals: 'none' | 'ours' | 'taken';
}

const KEY = Symbol.for('apflow.telemetry.process');

/**
 * Holds the process's provider for one generation: the active one if any (one provider per
 * process however many apps), else the one `build` makes. Registers the API globals on first use:
 * the switching tracer provider, the AsyncLocalStorage context manager, the W3C trace-context
 * propagator.
 */
export function acquireTelemetry(
  sdk: SdkModules,
  key: string,
  build: () => Omit<ActiveTelemetry, 'users' | 'key'>,
): TelemetryLease {
  const state = processTelemetry();
  const registered = installGlobals(state, sdk);
  const active = state.active ?? { ...build(), key, users: 0 };
  state.active = active;
  active.users += 1;
  let released = false;
  return {
    active,
    shared: active.key !== key,
    registered,
    flush: () => active.provider.forceFlush(),
    async release() {
      if (released) return;
      released = true;
      active.users -= 1;
      // A failed export was logged and counted when it failed: closing goes on.
      if (active.users > 0) return active.provider.forceFlush().catch(() => undefined);
      // Detached first, so a later app builds its own provider while this one sends its last spans.
      if (state.active === active) state.active = undefined;
      await active.provider.shutdown().catch(() => undefined);
    },
  };
}

function processTelemetry(): TelemetryProcess {
  // A process-wide slot of globalThis (which has no type for it): only this function uses it.
  const holder = globalThis as { [KEY]?: TelemetryProcess };
  return (holder[KEY] ??= { active: undefined, globals: 'none' });
}

function installGlobals(state: TelemetryProcess, sdk: SdkModules): boolean {
  if (state.globals === 'none') {
    const idle = new sdk.trace.TracerProvider({ sampler: new sdk.trace.AlwaysOffSampler() });
    const registered = sdk.api.trace.setGlobalTracerProvider(createTracerSwitch(() => state.active?.provider, idle));
    if (registered) {
      sdk.api.context.setGlobalContextManager(new sdk.contextHooks.AsyncLocalStorageContextManager().enable());
      sdk.api.propagation.setGlobalPropagator(new sdk.core.W3CTraceContextPropagator());
    }
    state.globals = registered ? 'ours' : 'taken';
  }
  return state.globals === 'ours';
}
