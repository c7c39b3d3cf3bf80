import type { PluginApp, RequestContext, RunStartContext } from 'apflow';
import { hasExemptRole, overSpend, quotaError, utcDay, type Overage } from './budgets.ts';
import type { QuotaMetrics } from './quota-metrics.ts';
import { userKey, type QuotaStore } from './quota-store.ts';
import type { QuotasConfig } from './settings.ts';

/**
 * The llm-keys plugin's slot for an `X-LLM-API-KEY` key in a request's state (a registered
 * symbol, so it is read without importing another plugin; the key itself is never read here).
 */
const HEADER_KEY = Symbol.for('apflow.llm-keys.header');

/** What `before` changed for a start, for its `after` phase to undo if no run began. */
interface Changed {
  /** The run was counted for this user key and day. */
  counted?: { key: string; day: string };
  /** The tree's exempt mark was dropped. */
  unmarked?: boolean;
  /** The tree was marked exempt (it had no mark). */
  marked?: boolean;
}

/** Whether the request carries its own LLM key (it pays for its calls: the original refused those, never demoed them). */
const carriesOwnKey = (request: RequestContext | undefined) =>
  request !== undefined && Object.getOwnPropertyDescriptor(request.state, HEADER_KEY) !== undefined;

/**
 * The `runStart` taps: `before` refuses a run over a daily budget (or turns it into a demo with
 * `over_limit: demo`) and counts the runs that go on; `after` gives the count back when no run
 * began (the tree was running already).
 */
export function createStartGate(
  app: Pick<PluginApp, 'usage' | 'log' | 'tasks'>,
  settings: QuotasConfig,
  store: QuotaStore,
  metrics: QuotaMetrics,
) {
  const spending = settings.tokens_per_day !== undefined || settings.cost_usd_per_day !== undefined;
  let pruned = '';
  // Keyed by the start's scratch object, which its `after` phase gets too.
  const changed = new WeakMap<object, Changed>();
  // Trees whose exempt run began here: their marks go when it ends here (others age out: prune).
  const exemptRuns = new Set<string>();

  const overLimit = async (start: RunStartContext, over: Overage): Promise<RunStartContext> => {
    // Starting a tree that runs already begins nothing: it is answered as such, not refused.
    if ((await app.tasks.get(start.root_task_id))?.run_state === 'running') return start;
    if (settings.over_limit === 'demo' && !carriesOwnKey(start.request)) {
      metrics.demo(over.reason);
      return { ...start, demo: true };
    }
    metrics.refused(over.reason);
    // Decided again where the run would begin: a tree that ended since the check above is refused, not begun.
    return { ...start, refuseUnlessRunning: quotaError(over) };
  };

  const before = async (start: RunStartContext): Promise<RunStartContext> => {
    // A demo calls no model and costs nothing: never limited, never counted.
    if (start.demo) return start;
    const day = utcDay();
    if (pruned !== day) {
      pruned = day;
      store.prune(day).catch((error: unknown) => app.log.warn({ err: error }, 'could not prune old quota counts'));
    }
    if (hasExemptRole(settings, start.request?.principal)) {
      if (spending) changed.set(start.state, { marked: await store.markExempt(start.root_task_id) });
      return start;
    }
    if (start.user_id === null && settings.anonymous === 'exempt') return start;
    const spent = await overSpend(app, settings, start.user_id, day);
    if (spent) return overLimit(start, spent);
    const key = userKey(start.user_id);
    const limit = settings.trees_per_day;
    const { counted, unmarked } = await store.count(key, day, limit, spending ? start.root_task_id : undefined);
    changed.set(start.state, { ...(counted ? { counted: { key, day } } : {}), unmarked });
    if (counted) return start;
    // Only a limit stops the count.
    return overLimit(start, { reason: 'trees', used: await store.trees(key, day), limit: limit ?? 0, day });
  };

  const after = async (start: RunStartContext): Promise<RunStartContext> => {
    const undo = changed.get(start.state);
    if (!undo) return start;
    if (start.begun) {
      if (undo.marked !== undefined) exemptRuns.add(start.root_task_id);
      return start;
    }
    // The tree was running already: its run keeps its count and its exempt mark (or none).
    if (undo.counted) await store.giveBack(undo.counted.key, undo.counted.day);
    if (undo.unmarked) await store.markExempt(start.root_task_id);
    if (undo.marked) await store.forgetExempt(start.root_task_id);
    return start;
  };

  return {
    /** The `runStart` tap. */
    tap: (start: RunStartContext) => (start.phase === 'before' ? before(start) : after(start)),
    /** A run of the tree of `rootId` ended (its `final` event): drops its exempt mark if it began here. */
    ended(rootId: string): void {
      if (!exemptRuns.delete(rootId)) return;
      store
        .forgetExempt(rootId)
        .catch((error: unknown) => app.log.warn({ err: error }, 'could not forget an exempt run'));
    },
  };
}
