/** An entry of the ready queue. */
export interface ReadyEntry<T> {
  item: T;
  priority: number;
  user: string | null;
}

/**
 * Ready tasks, most urgent first (lower `priority`, then first come). `pop` skips the tasks of
 * users at their limit without losing their place: they are parked and come back when
 * `release(user)` says that user may run again.
 */
export function createReadyQueue<T>() {
  type Slot = ReadyEntry<T> & { order: number };
  const heap: Slot[] = [];
  const parked = new Map<string | null, Slot[]>();
  let counter = 0;

  const before = (a: Slot, b: Slot) => a.priority - b.priority || a.order - b.order;
  const push = (slot: Slot) => {
    heap.push(slot);
    for (let i = heap.length - 1; i > 0; ) {
      const up = (i - 1) >> 1;
      if (before(heap[up] as Slot, heap[i] as Slot) <= 0) break;
      [heap[up], heap[i]] = [heap[i] as Slot, heap[up] as Slot];
      i = up;
    }
  };
  const take = (): Slot | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < heap.length && before(heap[l] as Slot, heap[best] as Slot) < 0) best = l;
        if (r < heap.length && before(heap[r] as Slot, heap[best] as Slot) < 0) best = r;
        if (best === i) break;
        [heap[best], heap[i]] = [heap[i] as Slot, heap[best] as Slot];
        i = best;
      }
    }
    return top;
  };

  return {
    /** Adds a ready task. */
    add(entry: ReadyEntry<T>): void {
      push({ ...entry, order: counter++ });
    },
    /** The most urgent task whose user `mayRun`, or undefined. */
    pop(mayRun: (user: string | null) => boolean): T | undefined {
      for (let slot = take(); slot; slot = take()) {
        if (mayRun(slot.user)) return slot.item;
        const list = parked.get(slot.user) ?? [];
        list.push(slot);
        parked.set(slot.user, list);
      }
      return undefined;
    },
    /** Puts `user`'s parked tasks back in line (their original order is kept). */
    release(user: string | null): void {
      const list = parked.get(user);
      if (!list) return;
      parked.delete(user);
      for (const slot of list) push(slot);
    },
    /** Drops the entries `keep` rejects (e.g. cancelled tasks). */
    remove(keep: (item: T) => boolean): void {
      const kept = heap.filter((slot) => keep(slot.item));
      heap.length = 0;
      for (const slot of kept) push(slot);
      for (const [user, list] of parked) parked.set(user, list.filter((slot) => keep(slot.item)));
    },
    get size(): number {
      let parkedCount = 0;
      for (const list of parked.values()) parkedCount += list.length;
      return heap.length + parkedCount;
    },
  };
}

/** A ready queue. */
export type ReadyQueue<T> = ReturnType<typeof createReadyQueue<T>>;
