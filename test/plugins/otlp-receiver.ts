import { createServer, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { TestContext } from 'node:test';
import protobuf from 'protobufjs';
import { isRecord } from 'apflow';
import { eventually, listenLocal } from '../helpers.ts';

/** One span as a receiver got it, flattened out of its resource and scope; ids lowercase hex. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Undefined for a root span. */
  parentSpanId: string | undefined;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Record<string, unknown>;
  scope: { name: string; version: string | undefined };
}

/** One export request: its headers (the configured ones should be there) and how it was encoded. */
export interface ReceivedExport {
  headers: IncomingHttpHeaders;
  contentType: string;
  spans: number;
}

// The part of opentelemetry/proto (collector/trace/v1, trace/v1, common/v1, resource/v1) an
// exporter's request uses; SpanKind and StatusCode as plain integers (the same varints).
const PROTO = `
syntax = "proto3";
package otlp;
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5;
  int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10;
  repeated Event events = 11; uint32 dropped_events_count = 12;
  repeated Link links = 13; uint32 dropped_links_count = 14; Status status = 15; fixed32 flags = 16;
}
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; uint32 dropped_attributes_count = 5; fixed32 flags = 6; }
message Status { string message = 2; int32 code = 3; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
`;
const RequestType = protobuf.parse(PROTO).root.lookupType('otlp.ExportTraceServiceRequest');

/**
 * A real OTLP/HTTP receiver on 127.0.0.1 (what a collector offers on port 4318): POST /v1/traces
 * in `application/json` or `application/x-protobuf` (gzip too), answered 200 with an empty
 * response of the same encoding; with `refuse`, 401 with the text it makes of the request's
 * headers (a receiver that echoes a credential). Closed when the test ends.
 */
export async function otlpReceiver(
  t: TestContext,
  options: { refuse?: (headers: IncomingHttpHeaders) => string } = {},
) {
  const spans: ReceivedSpan[] = [];
  const exports: ReceivedExport[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
      if (options.refuse)
        return void res.writeHead(401, { 'content-type': 'text/plain' }).end(options.refuse(req.headers));
      let got: ReceivedSpan[];
      try {
        got = contentType === 'application/x-protobuf' ? fromProtobuf(body) : flatten(JSON.parse(body.toString()));
      } catch (error) {
        return void res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
      }
      spans.push(...got);
      exports.push({ headers: req.headers, contentType, spans: got.length });
      if (contentType === 'application/x-protobuf') res.writeHead(200, { 'content-type': contentType }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await listenLocal(t, server);
  const base = `http://127.0.0.1:${port}`;
  return {
    /** The receiver's origin (what OTEL_EXPORTER_OTLP_ENDPOINT takes). */
    base,
    /** Its traces URL (what `telemetry.otlp.endpoint` and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT take). */
    url: `${base}/v1/traces`,
    spans,
    exports,
    /** Polls until `check(spans)` is truthy, and returns it. */
    waitFor: <T>(check: (received: ReceivedSpan[]) => T | undefined | null | false, timeoutMs = 10_000) =>
      eventually<T>(() => check(spans), timeoutMs),
  };
}

/** The protobuf request as its OTLP/JSON form (ids already hex), then flattened. */
function fromProtobuf(body: Buffer): ReceivedSpan[] {
  const message = RequestType.decode(body);
  const object = RequestType.toObject(message, { longs: String, bytes: String, defaults: false, arrays: true });
  return flatten(object, (base64) => Buffer.from(base64, 'base64').toString('hex'));
}

/** Spans of an OTLP/JSON request (`resourceSpans[].scopeSpans[].spans[]`), each with its resource and scope. */
function flatten(request: unknown, id: (value: string) => string = (value) => value.toLowerCase()): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const resourceSpans of list(field(request, 'resourceSpans'))) {
    const resource = attributes(field(field(resourceSpans, 'resource'), 'attributes'));
    for (const scopeSpans of list(field(resourceSpans, 'scopeSpans'))) {
      const scope = field(scopeSpans, 'scope');
      for (const span of list(field(scopeSpans, 'spans'))) {
        const parent = text(field(span, 'parentSpanId'));
        const status = field(span, 'status');
        out.push({
          traceId: id(text(field(span, 'traceId'))),
          spanId: id(text(field(span, 'spanId'))),
          parentSpanId: parent ? id(parent) : undefined,
          name: text(field(span, 'name')),
          kind: Number(field(span, 'kind') ?? 0),
          startTimeUnixNano: String(field(span, 'startTimeUnixNano') ?? ''),
          endTimeUnixNano: String(field(span, 'endTimeUnixNano') ?? ''),
          attributes: attributes(field(span, 'attributes')),
          events: list(field(span, 'events')).map((event) => ({
            name: text(field(event, 'name')),
            attributes: attributes(field(event, 'attributes')),
          })),
          status: { code: Number(field(status, 'code') ?? 0), message: text(field(status, 'message')) },
          resource,
          scope: { name: text(field(scope, 'name')), version: text(field(scope, 'version')) || undefined },
        });
      }
    }
  }
  return out;
}

/** OTLP KeyValue list → a plain record (ints as numbers, arrays and kvlists unwrapped). */
function attributes(value: unknown): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const entry of list(value)) record[text(field(entry, 'key'))] = anyValue(field(entry, 'value'));
  return record;
}

function anyValue(value: unknown): unknown {
  if (!isRecord(value)) return undefined;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('arrayValue' in value) return list(field(value.arrayValue, 'values')).map(anyValue);
  if ('kvlistValue' in value) return attributes(field(value.kvlistValue, 'values'));
  if ('bytesValue' in value) return value.bytesValue;
  return undefined;
}

function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
