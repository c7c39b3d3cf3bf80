import type { TaskEngine } from '../engine/task-engine.ts';
import { answerClusterGather, gatherCluster, inCluster } from './cluster-gather.ts';

const TOPIC = 'apflow:tasks';

type WorkerTasks = { running: number; roots: string[] };

const own = (engine: TaskEngine): WorkerTasks => ({ running: engine.runningCount(), roots: engine.runningRoots() });

/** Lets the other workers of a `--workers N` server count this worker's running tasks. */
export function answerServerTasks(engine: TaskEngine): () => void {
  return answerClusterGather(TOPIC, async () => own(engine));
}

/** Tasks and trees running on this server now: every worker's, under `--workers N`. */
export async function serverTasks(engine: TaskEngine): Promise<{ running: number; trees: number }> {
  const answers = inCluster() ? ((await gatherCluster(TOPIC, 2000)) as (WorkerTasks | null)[]) : [own(engine)];
  const roots = new Set<string>();
  let running = 0;
  for (const answer of answers) {
    if (!answer) continue;
    running += answer.running;
    for (const root of answer.roots) roots.add(root);
  }
  return { running, trees: roots.size };
}
