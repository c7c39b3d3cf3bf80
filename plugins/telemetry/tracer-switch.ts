import type { Tracer, TracerOptions, TracerProvider } from '@opentelemetry/api';

/**
 * The tracer provider registered with `@opentelemetry/api` once per process. The API keeps the
 * first tracer each caller got (the kernel's `trace.getTracer('apflow')` included), so an SDK
 * provider shut down by an app's close and replaced by a later app's could not be swapped in
 * under it; this provider's tracers ask `current()` at each span instead, and make no-op spans
 * (from `idle`) while no app has telemetry on.
 */
export function createTracerSwitch(current: () => TracerProvider | undefined, idle: TracerProvider): TracerProvider {
  const target = () => current() ?? idle;
  // The API asks again for each span of a caller that does not keep its tracer (the kernel).
  const made = new Map<string, Tracer>();
  return {
    getTracer(name, version, options) {
      if (options !== undefined) return switchTracer(target, name, version, options);
      const key = `${name}\0${version ?? ''}`;
      let tracer = made.get(key);
      if (!tracer) {
        tracer = switchTracer(target, name, version, undefined);
        if (made.size < MAX_KEPT) made.set(key, tracer);
      }
      return tracer;
    },
  };
}

/** Tracers kept by name and version (a few libraries' names; any more are made each time). */
const MAX_KEPT = 100;

function switchTracer(
  provider: () => TracerProvider,
  name: string,
  version: string | undefined,
  options: TracerOptions | undefined,
): Tracer {
  let from: TracerProvider | undefined;
  let tracer: Tracer | undefined;
  const target = (): Tracer => {
    const now = provider();
    if (now !== from || !tracer) {
      from = now;
      tracer = now.getTracer(name, version, options);
    }
    return tracer;
  };
  return {
    startSpan: (spanName, spanOptions, context) => target().startSpan(spanName, spanOptions, context),
    // One body for the three overloads: the arguments go through unchanged, so the overload the
    // caller picked is the one the target runs (TypeScript cannot check an overloaded implementation).
    startActiveSpan: ((...args: Parameters<Tracer['startActiveSpan']>) =>
      target().startActiveSpan(...args)) as Tracer['startActiveSpan'],
  };
}
