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
    /** An event persisted by this process. */
    publish: (event: TaskEvent) => tell(event.root_task_id, event),
    /** The log of `rootId` grew to `seq` elsewhere. */
    news: (rootId: string, seq: number) => tell(rootId, seq),
    /** Trees someone here follows. */
    followed: () => [...trees.keys()],
  };
}

/** The live listeners of each tree in this process. */
export type TreeHub = ReturnType<typeof createTreeHub>;
