import { Type, type Static } from 'apflow';

/** The OTLP over HTTP exporter's settings (`telemetry.otlp`). */
const OtlpSettings = Type.Object(
  {
    /**
     * The traces URL of an OTLP/HTTP receiver (a collector, Jaeger, Tempo, a vendor); a URL with no
     * path gets `/v1/traces`. Else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`
     * (+ `/v1/traces`), or `http://localhost:4318/v1/traces`.
     */
    endpoint: Type.Optional(Type.String({ pattern: '^https?://' })),
    /** Headers sent with each export (an API key, often): never logged nor shown. */
    headers: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String())),
    /** `http/protobuf` (the default) or `http/json`. gRPC is not supported. */
    protocol: Type.Optional(Type.Union([Type.Literal('http/protobuf'), Type.Literal('http/json')])),
    /** How long one export may take, in milliseconds (default 10000). */
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
  },
  { additionalProperties: false, default: {} },
);

/** The `telemetry` config section. */
export const TelemetrySettings = Type.Object(
  {
    /** Export traces (default false; else `APFLOW_TELEMETRY_ENABLED`, and `OTEL_SDK_DISABLED=true` keeps it off). */
    enabled: Type.Optional(Type.Boolean()),
    /** The `service.name` resource attribute (default `OTEL_SERVICE_NAME`, else `apflow`). */
    service_name: Type.Optional(Type.String({ minLength: 1 })),
    otlp: OtlpSettings,
    /**
     * The share of new traces kept, 0 to 1, decided once per trace (a span with a parent follows
     * its parent's decision). Default `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`, else 1.
     */
    sampler_ratio: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    /** `debug` adds spans for the engine's database turns. */
    detail: Type.Union([Type.Literal('normal'), Type.Literal('debug')], { default: 'normal' }),
  },
  { additionalProperties: false, default: {} },
);

/** Settings of the telemetry plugin, defaults filled in. */
export type TelemetryConfig = Static<typeof TelemetrySettings>;
