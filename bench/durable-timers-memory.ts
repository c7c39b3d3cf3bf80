import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { withApp } from './bench-app.ts';
import { createSleepers, executeAll, freshStore, until } from './durable-sleepers.ts';

/** Long enough that every task of the round is waiting at once. */
const LONG_SLEEP_S = 3600;

/** A full garbage collection (the bench's processes start without --expose-gc). */
const collect = (() => {
  setFlagsFromString('--expose-gc');
  // The function --expose-gc puts on every new context's global (typed unknown by vm).
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
  };
})();

/**
 * The process's memory once what a burst of work left in flight (event-log reads of followers,
 * writes) has drained: collected every second until the live heap stops shrinking (at most 15 s).
 */
async function settled(): Promise<NodeJS.MemoryUsage> {
  let last: NodeJS.MemoryUsage | undefined;
  for (let i = 0; i < 15; i++) {
    await sleep(1000);
    collect();
    const now = process.memoryUsage();
    if (last && now.heapUsed >= last.heapUsed * 0.99) return now;
    last = now;
  }
  return last as NodeJS.MemoryUsage;
}

/**
 * What waiting tasks hold in the process: `tasks` sleepers (an hour each) begun in two halves
 * on one in-process apflow over SQLite, the memory measured settled and collected before the
 * first half, once it all waits, and once every task waits. `per_task`: (all waiting − before)
 * / tasks, the brief's figure; `marginal`: (all − half) / the second half, which leaves out what
 * is paid once (compiled code, the heap grown to its working size, SQLite's page cache, the
 * engine's bounded caches filling).
 */
export async function waitingMemory(tasks: number, perTree: number) {
  return withApp(async (app) => {
    const store = freshStore(tasks);
    const roots = await createSleepers(app, tasks, perTree, LONG_SLEEP_S);
    let suspended = 0;
    const off = app.engine.subscribe((event) => {
      if (event.type === 'task_waiting') suspended++;
    });
    // The outcomes are left alone: they settle only when a run ends (never here: the app closes
    // first), and holding them would add the bench's own memory to each run's.
    const begin = (part: readonly string[]) => executeAll(app, part);
    try {
      const before = await settled();
      const half = Math.floor(roots.length / 2);
      await begin(roots.slice(0, half));
      const halfTasks = tasks - (roots.length - half) * perTree;
      await until(() => suspended, halfTasks, 'tasks suspended');
      const mid = await settled();
      await begin(roots.slice(half));
      await until(() => suspended, tasks, 'tasks suspended');
      const after = await settled();
      if (store.waiting !== tasks) throw new Error(`${store.waiting} of ${tasks} tasks waiting`);
      const per = (key: 'rss' | 'heapUsed', from: NodeJS.MemoryUsage, count: number) =>
        Math.round((after[key] - from[key]) / count);
      return {
        rss_idle_mb: Math.round(before.rss / 2 ** 20),
        rss_waiting_mb: Math.round(after.rss / 2 ** 20),
        rss_per_task: per('rss', before, tasks),
        heap_per_task: per('heapUsed', before, tasks),
        marginal_rss: per('rss', mid, tasks - halfTasks),
        marginal_heap: per('heapUsed', mid, tasks - halfTasks),
      };
    } finally {
      off();
    }
  });
}
