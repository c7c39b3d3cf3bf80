import { AsyncSeriesBailHook, AsyncSeriesHook, AsyncSeriesWaterfallHook, SyncHook } from 'tapable';
import type { UsageRecord } from '../usage/usage-types.ts';
import type {
  KeyRequest,
  Principal,
  RequestContext,
  RunStartContext,
  TaskEvent,
  TaskRan,
  TaskRunContext,
} from './hook-types.ts';

/**
 * Creates the hook table: every moment plugins can join, in one place. Only the kernel calls
 * these; plugins get the tap-only view from `plugin-view.ts`.
 */
export function createHooks() {
  return Object.freeze({
    /** Every HTTP request and WebSocket message, before routing to a handler. */
    request: new AsyncSeriesHook<[RequestContext]>(['request']),
    /** Once per request: the first tap to return a principal wins; a throw rejects the request. */
    auth: new AsyncSeriesBailHook<[RequestContext], Principal | undefined>(['request']),
    /** Before a run of a tree begins (may refuse it or make it a demo), and after (`begun`); each tap returns the context. */
    runStart: new AsyncSeriesWaterfallHook<[RunStartContext]>(['start']),
    /** Around each executor run (phase `before`, then `after`); each tap returns the context. */
    taskRun: new AsyncSeriesWaterfallHook<[TaskRunContext]>(['run']),
    /** Each executor run that ended here: its executor, outcome and time. Must not block or throw. */
    taskRan: new SyncHook<[TaskRan]>(['ran']),
    /** Every task status or progress event, after it was persisted. Must not block or throw. */
    progress: new SyncHook<[TaskEvent]>(['event']),
    /** An executor asks for an LLM key: the first tap to return one wins (order by `stage`). */
    keyResolve: new AsyncSeriesBailHook<[KeyRequest], string | undefined>(['request']),
    /** An LLM call an executor reported (`ctx.usage`), priced, after it was stored. Must not block or throw. */
    usage: new SyncHook<[UsageRecord]>(['record']),
  });
}

/** The hook table, as the kernel holds it. */
export type Hooks = ReturnType<typeof createHooks>;

/** Names of the hooks in the table. */
export type HookName = keyof Hooks;
