import { TERMINAL_STATUSES, type TaskRow } from '../tasks/task-record.ts';

/** One task of a running tree, with its counters. */
export interface RunNode {
  row: TaskRow;
  /** Part of this run (false: its state is only read, e.g. outside a sub-tree execution). */
  inScope: boolean;
  /** Required dependencies not completed yet. */
  waitingDeps: number;
  /** Children in scope that are not terminal yet. */
  waitingChildren: number;
  dependents: { node: RunNode; required: boolean }[];
  parent: RunNode | null;
  children: RunNode[];
  /** In the ready queue, being claimed, or running. */
  busy: boolean;
  /** A retry is scheduled. */
  retryTimer?: NodeJS.Timeout;
  /** Set while the executor runs. */
  abort?: AbortController;
}

/** What the engine must do after a task settled. */
export interface Settlement {
  /** Tasks now ready to run. */
  ready: RunNode[];
  /** Dependents failed because a required dependency did not complete. */
  cascaded: { node: RunNode; because: RunNode }[];
}

/**
 * The in-memory picture of one tree while it runs: which task waits for what. The engine owns
 * the writes; this only counts and answers "what is ready now".
 */
export function createTreeRun(rows: readonly TaskRow[], scope: ReadonlySet<string> | null) {
  const nodes = new Map<string, RunNode>();
  for (const row of rows) {
    nodes.set(row.id, { row, inScope: !scope || scope.has(row.id), waitingDeps: 0, waitingChildren: 0, dependents: [], parent: null, children: [], busy: false });
  }
  for (const node of nodes.values()) {
    const parent = node.row.parent_id ? nodes.get(node.row.parent_id) : undefined;
    if (parent) {
      node.parent = parent;
      parent.children.push(node);
      if (node.inScope && !isTerminal(node)) parent.waitingChildren++;
    }
    for (const dep of node.row.dependencies ?? []) {
      const target = nodes.get(dep.id);
      if (!target) continue;
      target.dependents.push({ node, required: dep.required });
      if (dep.required && target.row.status !== 'completed') node.waitingDeps++;
    }
  }
  const root = rows.find((row) => row.parent_id === null) ?? rows[0];
  let remaining = [...nodes.values()].filter((node) => node.inScope && !isTerminal(node)).length;

  return {
    nodes,
    rootId: (root as TaskRow).id,
    get remaining(): number {
      return remaining;
    },
    /** Tasks ready now, and dependents that can never run because a required dependency is settled badly. */
    initial(): Settlement {
      const settlement: Settlement = { ready: [], cascaded: [] };
      for (const node of nodes.values()) {
        if (!node.inScope || node.row.status !== 'pending') continue;
        const broken = (node.row.dependencies ?? []).find((dep) => {
          const target = nodes.get(dep.id);
          return dep.required && target && (TERMINAL_STATUSES.has(target.row.status) ? target.row.status !== 'completed' : !target.inScope);
        });
        if (broken) settlement.cascaded.push({ node, because: nodes.get(broken.id) as RunNode });
        else if (isReady(node)) settlement.ready.push(node);
      }
      return settlement;
    },
    /** Records that `node` reached a terminal state; returns what that unblocks or dooms. */
    settle(node: RunNode): Settlement {
      const settlement: Settlement = { ready: [], cascaded: [] };
      if (node.inScope) remaining--;
      for (const { node: dependent, required } of node.dependents) {
        if (!required || !dependent.inScope || dependent.row.status !== 'pending') continue;
        if (node.row.status === 'completed') {
          dependent.waitingDeps--;
          if (isReady(dependent)) settlement.ready.push(dependent);
        } else {
          settlement.cascaded.push({ node: dependent, because: node });
        }
      }
      const parent = node.parent;
      if (parent && node.inScope) {
        parent.waitingChildren--;
        if (parent.inScope && parent.row.status === 'pending' && isReady(parent)) settlement.ready.push(parent);
      }
      return settlement;
    },
    /** `node` and its descendants, parents first. */
    subtree(node: RunNode): RunNode[] {
      const out: RunNode[] = [];
      for (const stack = [node]; stack.length > 0; ) {
        const next = stack.pop() as RunNode;
        out.push(next);
        stack.push(...next.children);
      }
      return out;
    },
  };
}

/** The in-memory state of a running tree. */
export type TreeRun = ReturnType<typeof createTreeRun>;

/** True when the task is pending with nothing left to wait for. */
export function isReady(node: RunNode): boolean {
  return node.row.status === 'pending' && !node.busy && !node.retryTimer && node.waitingDeps === 0 && node.waitingChildren === 0;
}

/** True once the task is completed, failed or cancelled. */
export function isTerminal(node: RunNode): boolean {
  return TERMINAL_STATUSES.has(node.row.status);
}
