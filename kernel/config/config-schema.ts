import Type, { type Static } from 'typebox';

const LogLevel = Type.Union(
  [
    Type.Literal('fatal'),
    Type.Literal('error'),
    Type.Literal('warn'),
    Type.Literal('info'),
    Type.Literal('debug'),
    Type.Literal('trace'),
    Type.Literal('silent'),
  ],
  { default: 'info' },
);

/** A plugin named in the config: an npm package name or a local path, with options. */
export const PluginEntry = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Object(
    { name: Type.String({ minLength: 1 }), options: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
    { additionalProperties: false },
  ),
]);

/**
 * The kernel's part of the configuration. Sections owned by plugins (declared with
 * `definePlugin({ config })`) are validated by the loader when the plugin loads.
 */
export const KernelConfigSchema = Type.Object(
  {
    server: Type.Object(
      {
        host: Type.String({ default: '0.0.0.0', minLength: 1 }),
        port: Type.Integer({ default: 8000, minimum: 0, maximum: 65535 }),
        workers: Type.Integer({ default: 1, minimum: 1, maximum: 256 }),
        base_url: Type.Optional(Type.String({ pattern: '^https?://' })),
        body_limit: Type.Integer({ default: 10 * 1024 * 1024, minimum: 1024 }),
        shutdown_timeout_s: Type.Number({ default: 10, minimum: 0 }),
        cors_origins: Type.Optional(Type.Array(Type.String())),
      },
      { additionalProperties: false, default: {} },
    ),
    database: Type.Object(
      {
        url: Type.String({ default: 'sqlite:./.data/apflow.sqlite', pattern: '^(sqlite:|postgres(ql)?://)' }),
        // What a commit survives (docs/configuration.md, "Durability"): `full` an fsync per commit.
        sqlite: Type.Object(
          { synchronous: Type.Union([Type.Literal('full'), Type.Literal('normal')], { default: 'full' }) },
          { additionalProperties: false, default: {} },
        ),
        postgres: Type.Object(
          {
            synchronous_commit: Type.Optional(
              Type.Union([
                Type.Literal('on'),
                Type.Literal('off'),
                Type.Literal('local'),
                Type.Literal('remote_write'),
                Type.Literal('remote_apply'),
              ]),
            ),
            // The engine's statements prepared once per connection; off behind a pooler that
            // cannot keep them (PgBouncer in transaction mode before 1.21).
            prepared_statements: Type.Boolean({ default: true }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        jwt_secret: Type.Optional(Type.String({ minLength: 1 })),
        jwt_algorithm: Type.Optional(Type.String()),
        jwks_url: Type.Optional(Type.String({ pattern: '^https?://' })),
        issuer: Type.Optional(Type.String()),
        audience: Type.Optional(Type.String()),
        token_expires_s: Type.Optional(Type.Integer({ minimum: 1 })),
      },
      { additionalProperties: false, default: {} },
    ),
    engine: Type.Object(
      {
        concurrency: Type.Integer({ default: 64, minimum: 1 }),
        per_user_concurrency: Type.Optional(Type.Integer({ minimum: 1 })),
        cluster_concurrency: Type.Optional(Type.Integer({ minimum: 1 })),
        default_timeout_s: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
        lease_s: Type.Number({ default: 30, minimum: 0.5 }),
        max_tree_size: Type.Integer({ default: 100_000, minimum: 1 }),
        event_retention_s: Type.Number({ default: 7 * 24 * 3600, minimum: 60 }),
      },
      { additionalProperties: false, default: {} },
    ),
    executors: Type.Object(
      { dirs: Type.Array(Type.String({ minLength: 1 }), { default: ['./executors'] }) },
      { additionalProperties: false, default: {} },
    ),
    // Where tasks and clients may make the server connect (rest_executor, webhooks, A2A push…).
    outbound: Type.Object(
      {
        allow_private: Type.Boolean({ default: false }),
        allow_hosts: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
        deny_hosts: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
      },
      { additionalProperties: false, default: {} },
    ),
    // Secret inputs of tasks (passwords, keys, tokens executors list) are sealed under this key.
    secrets: Type.Object(
      { key: Type.Optional(Type.String({ minLength: 32 })) },
      { additionalProperties: false, default: {} },
    ),
    // Prices of LLM calls, USD per million tokens, by `provider/model`: over the shipped table (kernel/usage/prices.ts).
    usage: Type.Object(
      {
        prices: Type.Record(
          Type.String({ pattern: '^[^/]+/.+' }),
          Type.Object(
            { input: Type.Number({ minimum: 0 }), output: Type.Number({ minimum: 0 }) },
            { additionalProperties: false },
          ),
          { default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    plugins: Type.Array(PluginEntry, { default: [] }),
    disabled_plugins: Type.Array(Type.String(), { default: [] }),
    reload: Type.Boolean({ default: false }),
    log: Type.Object(
      {
        level: LogLevel,
        // The level of the one line logged per HTTP request (below `level`, it is not written).
        requests: Type.Union([Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace')], {
          default: 'debug',
        }),
        // JSON lines, or readable lines; `auto`: readable on a terminal unless NODE_ENV is production.
        format: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')], { default: 'auto' }),
      },
      { additionalProperties: false, default: { level: 'info', requests: 'debug', format: 'auto' } },
    ),
  },
  { additionalProperties: true },
);

/** The kernel's configuration after defaults and validation. */
export type KernelConfig = Static<typeof KernelConfigSchema>;

/** A plugin entry of the config. */
export type PluginEntryConfig = Static<typeof PluginEntry>;

/** The config a user writes: every key optional, plugin sections allowed. */
export type UserConfig = DeepPartial<KernelConfig> & Record<string, unknown>;

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
