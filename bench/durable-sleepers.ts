import type { App, TreeOutcome } from 'apflow';
import { started } from './started.ts';

/** The counters the `bench_sleep` executor (fixtures/sleep.ts) keeps for the `durable-timers` workload. */
export interface SleepStore {
  waiting: number;
  late: Float64Array;
  resumed: number;
  unslept: number;
  lastSleep: number;
  firstResume: number;
  lastResume: number;
}

/** New counters for a round of `tasks` sleepers, where the executor finds them. */
export function freshStore(tasks: number): SleepStore {
  const store = {
    waiting: 0,
    late: new Float64Array(tasks),
    resumed: 0,
    unslept: 0,
    lastSleep: 0,
    firstResume: 0,
    lastResume: 0,
  };
  (globalThis as unknown as { benchSleep?: SleepStore }).benchSleep = store;
  return store;
}

/**
 * Stores `tasks` sleepers sleeping `seconds` in trees of a no-op root and `perTree` sleeping
 * children (the root runs once they all ended), or with `perTree` 1 as single-task trees, each a
 * run of its own. Answers the roots' ids.
 */
export async function createSleepers(app: App, tasks: number, perTree: number, seconds: number): Promise<string[]> {
  const sleeper = (id: string, parent?: string) => ({
    id,
    name: id,
    ...(parent ? { parent_id: parent } : {}),
    schemas: { method: 'bench_sleep' },
    inputs: { s: seconds },
  });
  const trees = Array.from({ length: Math.ceil(tasks / perTree) }, (_, t) =>
    perTree === 1
      ? [sleeper(`s${t}`)]
      : [
          { id: `r${t}`, name: `r${t}`, schemas: { method: 'bench_noop' } },
          ...Array.from({ length: perTree }, (_, i) => sleeper(`r${t}c${i}`, `r${t}`)),
        ],
  );
  const made = await Promise.all(trees.map((tree) => app.engine.createTree(tree)));
  return made.map((tree) => tree.id);
}

/** Begins every tree's run; answers their outcomes. */
export async function executeAll(app: App, roots: readonly string[]): Promise<Promise<TreeOutcome>[]> {
  const answers = await Promise.all(roots.map((id) => app.engine.execute(id)));
  return answers.map((answer) => started(answer).done);
}

/** Resolves once `count()` reaches `target`, checked every 100 ms; fails after `ms`. */
export async function until(count: () => number, target: number, what: string, ms = 300_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (count() < target) {
    if (Date.now() > deadline) throw new Error(`only ${count()} of ${target} ${what} in ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
