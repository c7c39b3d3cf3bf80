import type { ExecutorContext } from '../executors/define-executor.ts';
import type { RegisteredExecutor } from '../executors/executor-table.ts';
import { raceAbort } from '../internal/race-abort.ts';

/** Longest `_demo_sleep` honoured, in seconds (a demo should feel real, not hang). */
const MAX_DEMO_SLEEP_S = 60;

/**
 * Demo mode (the original's `use_demo`): never calls `execute`. The result is the executor's
 * `demoResult(inputs, ctx)` or, without one, a stand-in saying nothing was run; an object result
 * gets `demo_mode: true`. A `_demo_sleep` (seconds) in it is removed and waited for, so a demo
 * shows progress like a real run. Inputs are not checked: a demo never fails on them.
 */
export async function demoRun(
  registered: RegisteredExecutor,
  inputs: unknown,
  ctx: ExecutorContext,
  signal: AbortSignal,
): Promise<unknown> {
  const { definition } = registered;
  if (!definition.demoResult) {
    return {
      result: 'Demo execution result',
      demo_mode: true,
      executor: definition.id,
      note: 'no demo result: nothing was run',
    };
  }
  const result = await raceAbort(
    Promise.resolve().then(() => definition.demoResult?.(inputs as never, ctx)),
    signal,
  );
  if (!result || typeof result !== 'object' || Array.isArray(result)) return result;
  const { _demo_sleep: sleep, ...rest } = result as Record<string, unknown>;
  if (typeof sleep === 'number' && sleep > 0) {
    await raceAbort(new Promise((resolve) => setTimeout(resolve, Math.min(sleep, MAX_DEMO_SLEEP_S) * 1000)), signal);
  }
  return { ...rest, demo_mode: true };
}
