import { createHash, randomBytes } from 'node:crypto';

/** Ids the next span started gets, instead of random ones. */
let pinned: { traceId?: string; spanId?: string } | undefined;
/** Whether an OpenTelemetry SDK with apflow's id generator is installed (the telemetry plugin). */
let active = false;
/** Whether the engine's database turns get spans too (`telemetry.detail: debug`). */
let debug = false;

/** An OpenTelemetry SDK id generator (`idGenerator` of a TracerProvider). */
export interface TraceIdGenerator {
  generateTraceId(): string;
  generateSpanId(): string;
}

/**
 * The id generator an OpenTelemetry TracerProvider must use for apflow's spans to nest across
 * servers: it hands out the ids apflow pins for a span (a task's span id is derived from its run
 * and its id, so a child that ran elsewhere, or before a restart, names it as its parent), random
 * ones otherwise. Creating it turns apflow's tracing on; `detail: 'debug'` adds a span per
 * database turn of the engine.
 */
export function createTraceIdGenerator(options: { detail?: 'normal' | 'debug' } = {}): TraceIdGenerator {
  active = true;
  debug = options.detail === 'debug';
  return {
    generateTraceId: () => pinned?.traceId ?? randomHex(16),
    generateSpanId: () => pinned?.spanId ?? randomHex(8),
  };
}

/** Whether spans are made at all: without the telemetry plugin, apflow makes none (and reads nothing for them). */
export const tracingActive = (): boolean => active;

/** Whether the engine's database turns are traced too. */
export const tracingTurns = (): boolean => active && debug;

/** Runs `start` (which starts one span, synchronously) with `ids` pinned for it. */
export function withPinnedIds<T>(ids: { traceId?: string; spanId?: string }, start: () => T): T {
  const before = pinned;
  pinned = ids;
  try {
    return start();
  } finally {
    pinned = before;
  }
}

/** A span id (16 hex digits, never all zero) derived from `parts`: the same on every server. */
export function derivedSpanId(...parts: string[]): string {
  const id = createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
  return /^0+$/.test(id) ? '0000000000000001' : id;
}

function randomHex(bytes: number): string {
  for (;;) {
    const id = randomBytes(bytes).toString('hex');
    if (!/^0+$/.test(id)) return id;
  }
}
