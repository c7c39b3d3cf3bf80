import { Type, type Static } from 'apflow';

/** The `mcp` config section: the MCP server on `/mcp` (and `apflow mcp`), and the `mcp_executor` client. */
export const Settings = Type.Object(
  {
    server: Type.Object(
      {
        /** Seconds a session may stay idle (no request, no open stream) before it is ended. */
        session_ttl_s: Type.Number({ default: 1800, exclusiveMinimum: 0 }),
        /** Sessions open at once (all users); a new `initialize` past it is refused with 503. */
        max_sessions: Type.Integer({ default: 1000, minimum: 1 }),
        /** Sessions open at once per user (per client address with authentication off). */
        max_sessions_per_user: Type.Integer({ default: 50, minimum: 1 }),
        /** Messages kept per session for a client that resumes a dropped stream (`Last-Event-ID`). */
        replay_events: Type.Integer({ default: 1000, minimum: 0 }),
        /**
         * OAuth authorization servers that issue the tokens `/mcp` accepts, published in its
         * protected-resource metadata (RFC 9728) for clients that discover them; empty = clients
         * are configured with a token (`apflow auth token`, `/auth/login`).
         */
        authorization_servers: Type.Array(Type.String({ pattern: '^https?://' }), { default: [] }),
      },
      { additionalProperties: false, default: {} },
    ),
    client: Type.Object(
      {
        stdio: Type.Object(
          {
            /** `transport: stdio` starts programs: off unless set (env APFLOW_MCP_STDIO_ENABLED). */
            enabled: Type.Optional(Type.Boolean()),
            /** Programs `command[0]` may name (exact names, as `builtin_executors.command.allow`); empty = any (env APFLOW_MCP_STDIO_ALLOW, comma-separated). */
            allow: Type.Optional(Type.Array(Type.String())),
          },
          { additionalProperties: false, default: {} },
        ),
        /** Default `timeout` (seconds) of an MCP call when the task gives none. */
        timeout_s: Type.Number({ default: 30, exclusiveMinimum: 0 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

/** The whole `mcp` section, defaults applied. */
type McpSettings = Static<typeof Settings>;

/** Settings of the MCP server, defaults applied. */
export type McpServerSettings = McpSettings['server'];

/** Settings of the MCP client (`mcp_executor`), defaults applied. */
export type McpClientSettings = McpSettings['client'];
