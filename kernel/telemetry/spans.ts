import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { RequestContext } from '../hooks/hook-types.ts';
import { version } from '../internal/version.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import { derivedSpanId, tracingActive, tracingTurns, withPinnedIds } from './trace-ids.ts';

// A run's spans, made wherever its parts happen: the request that began it (`apflow.execute`,
// live), each executor call (`apflow.executor`, live, so what it calls nests under it), each task
// once it ended (`apflow.task`) and the run once it ended (`apflow.run`), both from stored times.
// Every span but the request's names its parent by a derived id: the run's is derived from its
// run id alone, a task's from its run and task ids; the trace and sampling come from the request's
// `traceparent`, stored with the run's tasks (`trace_parent`).

const tracer = () => trace.getTracer('apflow', version);
const TRACE_PARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A stored `traceparent`, read. */
interface Stored {
  traceId: string;
  spanId: string;
  flags: number;
}

function parse(value: string | null): Stored | undefined {
  const match = value ? TRACE_PARENT.exec(value) : null;
  return match
    ? { traceId: match[1] as string, spanId: match[2] as string, flags: parseInt(match[3] as string, 16) }
    : undefined;
}

/** A context whose parent is the span `spanId` of the stored trace (made elsewhere, or later). */
const under = (stored: Stored, spanId: string): Context =>
  trace.setSpanContext(ROOT_CONTEXT, { traceId: stored.traceId, spanId, traceFlags: stored.flags, isRemote: true });

/** The span of the request beginning a run: its `traceparent` is stored with the run's tasks. */
export interface ExecuteSpan {
  /** The W3C `traceparent` the run's spans join, or null when it is not traced. */
  traceParent: string | null;
  end(attributes: Attributes): void;
}

const UNTRACED: ExecuteSpan = { traceParent: null, end: () => undefined };

/**
 * Starts `apflow.execute` for a request to run `taskId`: a child of the request's own
 * `traceparent` header when it has one, else a new trace (sampled by the SDK's sampler).
 */
export function startExecuteSpan(taskId: string, request: RequestContext | undefined): ExecuteSpan {
  if (!tracingActive()) return UNTRACED;
  const parent = request ? propagation.extract(ROOT_CONTEXT, request.headers) : ROOT_CONTEXT;
  const span = tracer().startSpan('apflow.execute', { attributes: { 'apflow.task.id': taskId } }, parent);
  if (!span.isRecording()) {
    span.end();
    return UNTRACED;
  }
  const { traceId, spanId, traceFlags } = span.spanContext();
  return {
    traceParent: `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`,
    end(attributes) {
      span.setAttributes(attributes);
      span.end();
    },
  };
}

/**
 * Runs one executor call of `row` (`run`) in the context of its `apflow.executor` span, under the
 * task's span, and ends the span with how the call ended. Untraced, it just runs it.
 */
export async function traceExecutor<T extends { status: string; error?: string }>(
  row: TaskRow,
  executorId: string,
  server: string | undefined,
  run: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  const stored = tracingActive() && row.run_id ? parse(row.trace_parent) : undefined;
  if (!stored || !row.run_id) return run(undefined);
  const parent = under(stored, derivedSpanId(row.run_id, row.id));
  const span = tracer().startSpan(
    'apflow.executor',
    {
      attributes: {
        ...taskAttributes(row),
        'apflow.executor.id': executorId,
        'apflow.task.attempt': row.attempts,
        ...(server ? { 'apflow.server.id': server } : {}),
      },
    },
    parent,
  );
  try {
    const outcome = await context.with(trace.setSpan(parent, span), () => run(span));
    span.setAttribute('apflow.outcome', outcome.status);
    if (outcome.error !== undefined) {
      span.recordException({ name: 'ExecutorError', message: outcome.error });
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error });
    }
    return outcome;
  } finally {
    span.end();
  }
}

/** Makes `apflow.task` of a task that ended, from its start to its end, under its parent's span (a root's: the run's). */
export function emitTaskSpan(row: TaskRow): void {
  const stored = parse(row.trace_parent);
  if (!stored || !row.run_id || !row.started_at) return;
  const runId = row.run_id;
  const parent = under(stored, row.parent_id === null ? derivedSpanId(runId) : derivedSpanId(runId, row.parent_id));
  const span = withPinnedIds({ spanId: derivedSpanId(runId, row.id) }, () =>
    tracer().startSpan(
      'apflow.task',
      {
        startTime: new Date(row.started_at as string),
        attributes: { ...taskAttributes(row), 'apflow.task.attempt': row.attempts },
      },
      parent,
    ),
  );
  endWithStatus(span, row, row.completed_at);
}

/** Makes `apflow.run` of a run that ended (from `startedAt`), under the request that began it. */
export function emitRunSpan(root: TaskRow, startedAt: string): void {
  const stored = parse(root.trace_parent);
  if (!stored || !root.run_id) return;
  const runId = root.run_id;
  const span = withPinnedIds({ spanId: derivedSpanId(runId) }, () =>
    tracer().startSpan(
      'apflow.run',
      { startTime: new Date(startedAt), attributes: { ...taskAttributes(root), 'apflow.run.id': runId } },
      under(stored, stored.spanId),
    ),
  );
  endWithStatus(span, root, root.completed_at);
}

function endWithStatus(span: Span, row: TaskRow, endedAt: string | null): void {
  span.setAttribute('apflow.task.status', row.status);
  if (row.status === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: row.error ?? 'failed' });
  span.end(endedAt ? new Date(endedAt) : new Date());
}

function taskAttributes(row: TaskRow): Attributes {
  return {
    'apflow.task.id': row.id,
    'apflow.task.name': row.name,
    'apflow.root_task.id': row.root_id,
    ...(row.user_id === null ? {} : { 'enduser.id': row.user_id }),
    ...(typeof row.schemas?.method === 'string' ? { 'apflow.executor.id': row.schemas.method } : {}),
  };
}

/**
 * `headers` with the active span's `traceparent` (and `tracestate`) added, so the service called
 * continues the trace (an executor's HTTP call, under its `apflow.executor` span); a header the
 * caller set wins. Untraced, `headers` as given.
 */
export function withTraceHeaders<H>(headers: H): H | Record<string, string> {
  if (!tracingActive()) return headers;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (!carrier.traceparent) return headers;
  // Any fetch's headers (the global one's or undici's): read through the global Headers.
  const merged = new Headers(headers as HeadersInit | undefined);
  for (const [name, value] of Object.entries(carrier)) if (!merged.has(name)) merged.set(name, value);
  return Object.fromEntries(merged);
}

/**
 * The `traceparent` header that puts a call made for a task's run (a webhook, a push
 * notification) under that run's span; empty when the run is not traced (or tracing is off).
 */
export function runTraceHeaders(
  row: Pick<TaskRow, 'trace_parent' | 'run_id'> | null | undefined,
): Record<string, string> {
  const stored = tracingActive() && row?.run_id ? parse(row.trace_parent) : undefined;
  if (!stored || !row?.run_id) return {};
  const flags = stored.flags.toString(16).padStart(2, '0');
  return { traceparent: `00-${stored.traceId}-${derivedSpanId(row.run_id)}-${flags}` };
}

/**
 * Runs one database turn of the engine (`work`: its transaction) in an `apflow.db.turn` span
 * when `telemetry.detail` is `debug`; `describe` adds what the turn committed.
 */
export async function traceTurn<T>(work: () => Promise<T>, describe: (value: T) => Attributes): Promise<T> {
  if (!tracingTurns()) return work();
  return tracer().startActiveSpan('apflow.db.turn', async (span) => {
    try {
      const value = await work();
      span.setAttributes(describe(value));
      return value;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}
