import type { TaskEvent } from '../hooks/hook-types.ts';
import type { TreeNews } from './follow-tree.ts';

/**
 * The live listeners of each tree in this process: events persisted here go to them as they
 * are, news of events persisted elsewhere as the tree's last seq. Reads of a tree's event log
 * that start from the same seq while one is under way share it, so a crowd of followers of one
 * tree costs one query per change, not one each.
 */
export function createTreeHub(readLog: (rootId: string, afterSeq: number, limit: number) => Promise<TaskEvent[]>) {
  const trees = new Map<string, Set<(news: TreeNews) => void>>();
  const reads = new Map<string, Promise<TaskEvent[]>>();
  const tell = (rootId: string, news: TreeNews) => {
    const listeners = trees.get(rootId);
    if (listeners) for (const listener of listeners) listener(news);
  };
  // A commit's events are announced one by one in a synchronous loop; each tree's listeners hear
  // them as one burst once it ends (a microtask later): one call per listener per commit rather
  // than per event, which is what a thousand followers of a tree cost.
  const bursts = new Map<string, TaskEvent[]>();
  const tellBursts = () => {
    for (const [rootId, events] of bursts) {
      bursts.delete(rootId);
      tell(rootId, events.length === 1 ? (events[0] as TaskEvent) : events);
    }
  };
  return {
    subscribe(rootId: string, listener: (news: TreeNews) => void): () => void {
      let set = trees.get(rootId);
      if (!set) trees.set(rootId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && trees.get(rootId) === set) trees.delete(rootId);
      };
    },
    /** The tree's log after `afterSeq` (shared with identical reads under way). */
    events(rootId: string, afterSeq: number, limit: number): Promise<TaskEvent[]> {
      const key = `${rootId}\n${afterSeq}\n${limit}`;
      let read = reads.get(key);
      if (!read) {
        read = readLog(rootId, afterSeq, limit).finally(() => reads.delete(key));
        reads.set(key, read);
      }
      return read;
    },
    /** An event persisted by this process (heard with the others of its commit). */
    publish(event: TaskEvent): void {
      if (!trees.has(event.root_task_id)) return;
      const burst = bursts.get(event.root_task_id);
      if (burst) burst.push(event);
      else {
        if (bursts.size === 0) queueMicrotask(tellBursts);
        bursts.set(event.root_task_id, [event]);
      }
    },
    /** The log of `rootId` grew to `seq` elsewhere. */
    news: (rootId: string, seq: number) => tell(rootId, seq),
    /** Trees someone here follows. */
    followed: () => [...trees.keys()],
  };
}

/** The live listeners of each tree in this process. */
export type TreeHub = ReturnType<typeof createTreeHub>;
