import { ApflowError, Type, type Static } from 'apflow';

/** The `quotas` config section. */
export const QuotasSettings = Type.Object(
  {
    /** Off by default: a server without quotas taps no hook and writes nothing. */
    enabled: Type.Boolean({ default: false }),
    /** Runs of trees one user may start per UTC day (absent: no limit; 0: none, every run is over). */
    trees_per_day: Type.Optional(Type.Integer({ minimum: 0 })),
    /** LLM tokens (input + output) one user's tasks may spend per UTC day (absent: no limit). */
    tokens_per_day: Type.Optional(Type.Integer({ minimum: 0 })),
    /** US dollars one user's LLM calls may cost per UTC day, by the price table (absent: no limit). */
    cost_usd_per_day: Type.Optional(Type.Number({ minimum: 0 })),
    /** What a start over a limit gets: refused with 429, or run in demo mode. */
    over_limit: Type.Union([Type.Literal('refuse'), Type.Literal('demo')], { default: 'refuse' }),
    /** Callers with one of these roles are not limited (nor counted). */
    exempt_roles: Type.Array(Type.String({ minLength: 1 }), { default: ['admin'] }),
    /** Trees without an owner: one budget they all share, or not limited. */
    anonymous: Type.Union([Type.Literal('shared'), Type.Literal('exempt')], { default: 'shared' }),
  },
  { additionalProperties: false, default: {} },
);

/** Settings of the quotas plugin, defaults filled in. */
export type QuotasConfig = Static<typeof QuotasSettings>;

/** The three budgets and their config keys, in the order they are checked. */
export const LIMIT_KEYS = ['tokens_per_day', 'cost_usd_per_day', 'trees_per_day'] as const;

/**
 * Refuses a combination the schema cannot say is wrong: quotas on without any limit would count
 * nothing while the operator believes users are limited.
 */
export function checkQuotasConfig(settings: QuotasConfig): void {
  if (!settings.enabled || LIMIT_KEYS.some((key) => settings[key] !== undefined)) return;
  throw new ApflowError('APF_CONFIG_INVALID', {
    message:
      "invalid configuration for plugin 'quotas':\n- quotas.enabled is true but no limit is set: set quotas.trees_per_day, quotas.tokens_per_day or quotas.cost_usd_per_day",
  });
}
