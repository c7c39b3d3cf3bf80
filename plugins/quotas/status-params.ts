import { Type } from 'apflow';

/** Params of `quotas.status`: whose budgets (the caller's when absent; null: the shared anonymous budget). */
export const StatusParams = Type.Object(
  { user_id: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()])) },
  { additionalProperties: false },
);

/** One budget of a day: how much is used, and the limit (null: none). */
export interface QuotaUse {
  used: number;
  limit: number | null;
}

/** What `quotas.status` answers. */
export interface QuotaStatus {
  /** Whether quotas are on (`quotas.enabled`); when off nothing is limited and trees are not counted. */
  enabled: boolean;
  user_id: string | null;
  /** The UTC day the counts are of (`YYYY-MM-DD`). */
  day: string;
  /** Whether the caller, asking about themselves, holds an exempt role (or is anonymous with `anonymous: exempt`). */
  exempt: boolean;
  /** Runs of trees started today (not counting demo runs and exempt callers' runs). */
  trees: QuotaUse;
  /** LLM tokens (input + output) spent today. */
  tokens: QuotaUse;
  /** US dollars spent today (priced calls only). */
  cost_usd: QuotaUse;
  /** The next UTC midnight (ISO-8601). */
  reset_at: string;
  /** What a start over a limit gets. */
  over_limit: 'refuse' | 'demo';
}
