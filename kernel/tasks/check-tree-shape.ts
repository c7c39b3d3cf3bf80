import { ApflowError } from '../errors/apflow-error.ts';

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });

/**
 * The most levels of parent_id a tree may have (the root is level 1). Trees are answered
 * nested, and far deeper ones would overflow the stack serialising them.
 */
export const MAX_TREE_DEPTH = 1000;

/** A task as {@link checkTreeShape} sees it: its reference key and name, its parent and what it depends on. */
export interface ShapeNode {
  /** Its position in the array given to {@link checkTreeShape}. */
  readonly index: number;
  readonly key: string;
  readonly name: string;
  readonly parent: ShapeNode | null;
  readonly dependencies: readonly { readonly node: ShapeNode; readonly required: boolean }[];
}

/**
 * Checks the shape of a tree: no dependency cycle (named), exactly one root, every task
 * reachable from it, and no order that could never run (a parent runs only after its children,
 * so a child may not wait for its ancestor). Returns the root.
 */
export function checkTreeShape<N extends ShapeNode>(nodes: readonly N[]): N {
  const keyAt = (i: number) => nodes[i]?.key;
  const cycle = findCycle(nodes.map((node) => node.dependencies.map((dep) => dep.node.index)));
  if (cycle) {
    throw invalid(`Circular dependency detected: ${cycle.map(keyAt).join(' -> ')}. Remove one of these dependencies.`);
  }

  const roots = nodes.filter((node) => node.parent === null);
  const [root, ...others] = roots;
  if (!root) throw invalid('No root task found: exactly one task must have no parent_id');
  if (others.length > 0) {
    throw invalid(
      `Multiple root tasks found: [${roots.map((node) => node.name).join(', ')}]. A tree has exactly one root: give the others a parent_id.`,
    );
  }
  const children = Array.from(nodes, (): number[] => []);
  nodes.forEach((node, i) => node.parent && children[node.parent.index]?.push(i));
  const reached = new Set<number>([root.index]);
  const stack: [node: number, level: number][] = [[root.index, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [node, level] = top;
    for (const child of children[node] ?? []) {
      if (reached.has(child)) continue;
      reached.add(child);
      if (level + 1 > MAX_TREE_DEPTH) {
        throw invalid(
          `Tree too deep: task '${keyAt(child)}' is at level ${level + 1}; a tree has at most ${MAX_TREE_DEPTH} levels of parent_id`,
        );
      }
      stack.push([child, level + 1]);
    }
  }
  if (reached.size !== nodes.length) {
    const stray = nodes.flatMap((node, i) => (reached.has(i) ? [] : [node.key]));
    throw invalid(
      `Tasks not in the same tree: [${stray.join(', ')}] cannot be reached from the root '${root.key}' through parent_id`,
    );
  }

  // "Finishes before" edges: a required dependency before its dependent, a child before its parent.
  const waitEdges = nodes.map((node) => node.dependencies.filter((dep) => dep.required).map((dep) => dep.node.index));
  nodes.forEach((node, child) => node.parent && waitEdges[node.parent.index]?.push(child));
  const deadlock = findCycle(waitEdges);
  if (deadlock) {
    throw invalid(
      `Tasks that could never run: ${deadlock.map(keyAt).join(' -> ')} (a parent runs only after its children finish, so a task cannot depend on its ancestor)`,
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
  for (let start = 0; start < edges.length; start++) {
    if (state[start] !== 0) continue;
    // The current path, each step with the index of its next edge to follow.
    const path = [{ node: start, next: 0 }];
    state[start] = 1;
    for (let step = path[path.length - 1]; step; step = path[path.length - 1]) {
      const target = edges[step.node]?.[step.next];
      if (target === undefined) {
        state[step.node] = 2;
        path.pop();
        continue;
      }
      step.next += 1;
      if (state[target] === 1) {
        const from = path.findIndex(({ node }) => node === target);
        return [...path.slice(from).map(({ node }) => node), target];
      }
      if (state[target] === 0) {
        state[target] = 1;
        path.push({ node: target, next: 0 });
      }
    }
  }
  return null;
}
