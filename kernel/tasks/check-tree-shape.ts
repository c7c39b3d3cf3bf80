import { ApflowError } from '../errors/apflow-error.ts';
import type { TaskDependency } from './task-record.ts';

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });

/**
 * The most levels of parent_id a tree may have (the root is level 1). Trees are answered
 * nested, and far deeper ones would overflow the stack serialising them.
 */
export const MAX_TREE_DEPTH = 1000;

/**
 * Checks the shape of a tree given by reference keys: no dependency cycle (named), exactly one
 * root, every task reachable from it, and no order that could never run (a parent runs only
 * after its children, so a child may not wait for its ancestor). Returns the root's index.
 */
export function checkTreeShape(
  keys: readonly string[],
  parents: readonly (string | null)[],
  dependencies: readonly TaskDependency[][],
  names: readonly string[],
): number {
  const index = new Map(keys.map((key, i) => [key, i]));
  const depEdges = keys.map((_, i) => (dependencies[i] ?? []).map((dep) => index.get(dep.id) as number));
  const cycle = findCycle(depEdges);
  if (cycle) {
    throw invalid(
      `Circular dependency detected: ${cycle.map((i) => keys[i]).join(' -> ')}. Remove one of these dependencies.`,
    );
  }

  const roots = keys.flatMap((_, i) => (parents[i] === null ? [i] : []));
  if (roots.length === 0) throw invalid('No root task found: exactly one task must have no parent_id');
  if (roots.length > 1) {
    throw invalid(
      `Multiple root tasks found: [${roots.map((i) => names[i]).join(', ')}]. A tree has exactly one root: give the others a parent_id.`,
    );
  }
  const root = roots[0] as number;
  const children = keys.map(() => [] as number[]);
  parents.forEach((parent, i) => parent !== null && children[index.get(parent) as number]?.push(i));
  const reached = new Set<number>([root]);
  const level = new Int32Array(keys.length);
  level[root] = 1;
  for (const stack = [root]; stack.length > 0;) {
    const node = stack.pop() as number;
    for (const child of children[node] ?? []) {
      if (reached.has(child)) continue;
      reached.add(child);
      level[child] = (level[node] as number) + 1;
      if ((level[child] as number) > MAX_TREE_DEPTH) {
        throw invalid(
          `Tree too deep: task '${keys[child]}' is at level ${level[child]}; a tree has at most ${MAX_TREE_DEPTH} levels of parent_id`,
        );
      }
      stack.push(child);
    }
  }
  if (reached.size !== keys.length) {
    const stray = keys.flatMap((key, i) => (reached.has(i) ? [] : [key]));
    throw invalid(
      `Tasks not in the same tree: [${stray.join(', ')}] cannot be reached from the root '${keys[root]}' through parent_id`,
    );
  }

  // "Finishes before" edges: a required dependency before its dependent, a child before its parent.
  const waitEdges = keys.map((_, i) =>
    (dependencies[i] ?? []).filter((dep) => dep.required).map((dep) => index.get(dep.id) as number),
  );
  parents.forEach((parent, child) => parent !== null && waitEdges[index.get(parent) as number]?.push(child));
  const deadlock = findCycle(waitEdges);
  if (deadlock) {
    throw invalid(
      `Tasks that could never run: ${deadlock.map((i) => keys[i]).join(' -> ')} (a parent runs only after its children finish, so a task cannot depend on its ancestor)`,
    );
  }
  return root;
}

/**
 * A cycle in `edges` (task i depends on each of edges[i]) as indexes in "depends on" order,
 * with the first repeated at the end; null when there is none.
 */
function findCycle(edges: readonly number[][]): number[] | null {
  const state = new Uint8Array(edges.length); // 0 unvisited, 1 on the current path, 2 finished
  const cameFrom = new Int32Array(edges.length).fill(-1);
  for (let start = 0; start < edges.length; start++) {
    if (state[start] !== 0) continue;
    const stack: [node: number, next: number][] = [[start, 0]];
    state[start] = 1;
    while (stack.length > 0) {
      const frame = stack[stack.length - 1] as [number, number];
      const [node, next] = frame;
      const targets = edges[node] ?? [];
      if (next >= targets.length) {
        state[node] = 2;
        stack.pop();
        continue;
      }
      frame[1] = next + 1;
      const target = targets[next] as number;
      if (state[target] === 1) {
        const path = [node];
        for (let at = node; at !== target;) path.push((at = cameFrom[at] as number));
        return [...path.reverse(), target];
      }
      if (state[target] === 0) {
        state[target] = 1;
        cameFrom[target] = node;
        stack.push([target, 0]);
      }
    }
  }
  return null;
}
