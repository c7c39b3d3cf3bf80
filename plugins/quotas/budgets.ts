import { ApflowError, type PluginApp, type Principal } from 'apflow';
import type { QuotasConfig } from './settings.ts';

/** Which daily budget a run went over. */
export type QuotaReason = 'trees' | 'tokens' | 'cost_usd';

/** A budget a user has spent: what, how much of how much, on which UTC day. */
export interface Overage {
  reason: QuotaReason;
  used: number;
  limit: number;
  day: string;
}

/** `data` of an APF_QUOTA_EXCEEDED error. */
export interface QuotaErrorData {
  reason: QuotaReason;
  used: number;
  limit: number;
  /** The next UTC midnight (ISO-8601), when the day's budgets start again. */
  reset_at: string;
}

const TITLES: Record<QuotaReason, [title: string, unit: string]> = {
  trees: ['Daily task tree quota exceeded', 'task trees'],
  tokens: ['Daily token budget exceeded', 'tokens'],
  cost_usd: ['Daily cost budget exceeded', 'US dollars'],
};

/** Today, UTC, as `YYYY-MM-DD`. */
export const utcDay = (now = new Date()) => now.toISOString().slice(0, 10);

/** The midnight (UTC) that ends `day`. */
export const resetAt = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString();

/** The error a run over `over` is refused with: HTTP 429, JSON-RPC -32001. */
export function quotaError(over: Overage): ApflowError {
  const [title, unit] = TITLES[over.reason];
  const data: QuotaErrorData = { reason: over.reason, used: over.used, limit: over.limit, reset_at: resetAt(over.day) };
  return new ApflowError('APF_QUOTA_EXCEEDED', {
    message: `${title}: ${over.used} of ${over.limit} ${unit} used today (UTC); the budget resets at ${data.reset_at}`,
    data,
  });
}

/** Whether `principal` holds one of the exempt roles. */
export const hasExemptRole = (settings: QuotasConfig, principal: Principal | undefined) =>
  principal?.roles.some((role) => settings.exempt_roles.includes(role)) === true;

/** What a user's LLM calls spent on `day` (tokens in and out, dollars of the priced calls). */
export async function spentOn(app: Pick<PluginApp, 'usage'>, userId: string | null, day: string) {
  const [usage] = await app.usage.byDay({ user_id: userId, since: day, until: day });
  return { tokens: usage?.total ?? 0, cost_usd: usage?.cost_usd ?? 0 };
}

/** Whether the token or dollar budget of `userId` is spent today (undefined when neither is, or none is set). */
export async function overSpend(
  app: Pick<PluginApp, 'usage'>,
  settings: QuotasConfig,
  userId: string | null,
  day: string,
): Promise<Overage | undefined> {
  const tokens = settings.tokens_per_day;
  const dollars = settings.cost_usd_per_day;
  if (tokens === undefined && dollars === undefined) return undefined;
  const spent = await spentOn(app, userId, day);
  if (tokens !== undefined && spent.tokens >= tokens)
    return { reason: 'tokens', used: spent.tokens, limit: tokens, day };
  if (dollars !== undefined && spent.cost_usd >= dollars)
    return { reason: 'cost_usd', used: spent.cost_usd, limit: dollars, day };
  return undefined;
}
