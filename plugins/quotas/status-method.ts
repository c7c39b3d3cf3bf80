import { ApflowError, mayAccess, type PluginApp } from 'apflow';
import { hasExemptRole, resetAt, spentOn, utcDay } from './budgets.ts';
import { userKey, type QuotaStore } from './quota-store.ts';
import type { QuotasConfig } from './settings.ts';
import { StatusParams, type QuotaStatus } from './status-params.ts';

/**
 * `quotas.status` on `/tasks` (the original demo's `GET /api/quota/status`): today's use of each
 * budget. Users ask about themselves; administrators (and anyone without authentication) may name
 * a user.
 */
export function mountStatusMethod(app: PluginApp, settings: QuotasConfig, store: QuotaStore): void {
  app.rpc.method('/tasks', 'quotas.status', {
    params: StatusParams,
    description: "Today's use of the daily quotas (task trees, tokens, dollars) of the caller or a named user",
    async handler(params, ctx): Promise<QuotaStatus> {
      const principal = ctx.principal;
      const asked = params.user_id;
      if (asked !== undefined && !mayAccess(principal, asked)) {
        throw new ApflowError('APF_FORBIDDEN', {
          message: 'Permission denied: you can only see your own quotas',
        });
      }
      const userId = asked === undefined ? (principal?.user_id ?? null) : asked;
      const self = principal !== undefined && principal.user_id === userId;
      const day = utcDay();
      const [trees, spent] = await Promise.all([
        settings.enabled ? store.trees(userKey(userId), day) : Promise.resolve(0),
        spentOn(app, userId, day),
      ]);
      const limit = (value: number | undefined) => (settings.enabled ? (value ?? null) : null);
      return {
        enabled: settings.enabled,
        user_id: userId,
        day,
        exempt:
          settings.enabled &&
          ((self && hasExemptRole(settings, principal)) || (userId === null && settings.anonymous === 'exempt')),
        trees: { used: trees, limit: limit(settings.trees_per_day) },
        tokens: { used: spent.tokens, limit: limit(settings.tokens_per_day) },
        cost_usd: { used: spent.cost_usd, limit: limit(settings.cost_usd_per_day) },
        reset_at: resetAt(day),
        over_limit: settings.over_limit,
      };
    },
  });
}
