import { Type, type Static } from 'apflow';

/** The `a2a` config section. */
export const A2aSettings = Type.Object(
  {
    /** The agent card's name and description. */
    name: Type.String({ default: 'apflow', minLength: 1 }),
    description: Type.String({ default: 'Agent workflow orchestration and execution platform', minLength: 1 }),
    /** Messages kept in a task's history (the oldest are dropped first). */
    max_history: Type.Integer({ default: 100, minimum: 1 }),
    /**
     * Key that seals push tokens and credentials in the database (any string of 32+ characters;
     * env APFLOW_A2A_SECRETS_KEY). Without it they are kept in memory only, and a restart
     * forgets them.
     */
    secrets_key: Type.Optional(Type.String({ minLength: 32 })),
    push: Type.Object(
      {
        // Aliases of outbound.*, for push notifications only: merged with them.
        /** Allow push URLs on loopback, private, link-local and other non-public addresses. */
        allow_private: Type.Boolean({ default: false }),
        /** Hosts (names or IPs) always allowed, e.g. `127.0.0.1` for a local receiver. */
        allow_hosts: Type.Array(Type.String(), { default: [] }),
        /** Hosts never allowed. */
        deny_hosts: Type.Array(Type.String(), { default: [] }),
        timeout_s: Type.Number({ default: 10, exclusiveMinimum: 0 }),
        max_retries: Type.Integer({ default: 3, minimum: 0, maximum: 10 }),
        retry_base_s: Type.Number({ default: 1, minimum: 0 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

/** Settings of the a2a plugin, defaults filled in. */
export type A2aConfig = Static<typeof A2aSettings>;
