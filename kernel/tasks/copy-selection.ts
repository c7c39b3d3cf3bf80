import { ApflowError } from '../errors/apflow-error.ts';
import type { ParsedCopyOptions } from './copy-options.ts';
import type { TaskRow } from './task-record.ts';

/** What a copy takes from a tree. */
export interface CopySelection {
  /** The originals to copy, the copy's root first, then in tree order. */
  originals: [TaskRow, ...TaskRow[]];
  /** Of those, the ids whose copies start over (pending); the others keep their run (full mode). */
  rerun: ReadonlySet<string>;
}

/**
 * Picks the tasks a copy of `taskId` takes, by mode (reference/original-apflow.md §2.4):
 * - minimal: the task's subtree plus every task depending on it, transitively (when the subtree
 *   has a failed leaf, pending dependents are left out);
 * - custom: the given ids (with their descendants if asked) plus what they depend on, transitively;
 * - full: the whole tree; the task's subtree, what it depends on and what depends on it start over.
 * minimal and custom copy the smallest enclosing subtree: rooted at the lowest common ancestor of
 * the picked tasks, with just the ancestors that connect them to it.
 */
export function selectForCopy(tree: readonly TaskRow[], taskId: string, options: ParsedCopyOptions): CopySelection {
  const index = indexTree(tree);
  const subtree = descendants(index, [taskId]);
  if (options.mode === 'full') {
    const rerun = new Set([...subtree, ...upstream(index, subtree), ...dependents(index, subtree)]);
    return { originals: ordered(index, new Set(index.byId.keys()), index.root), rerun };
  }
  let picked: Set<string>;
  if (options.mode === 'custom') {
    const missing = options.customIds.filter((id) => !index.byId.has(id));
    if (missing.length > 0)
      throw new ApflowError('APF_INVALID_PARAMS', { message: `Task IDs not found in tree: ${missing.join(', ')}` });
    const chosen = options.customIncludeChildren ? descendants(index, options.customIds) : new Set(options.customIds);
    picked = new Set([...chosen, ...upstream(index, chosen)]);
  } else {
    // The original gathers each direct child's subtree too; they already lie inside `subtree`.
    const gathered = options.children
      ? new Set([...subtree, ...descendants(index, index.children.get(taskId) ?? [])])
      : subtree;
    const failedLeaf = [...gathered].some(
      (id) => index.byId.get(id)?.status === 'failed' && !index.children.get(id)?.length,
    );
    const extra = [...dependents(index, gathered)].filter(
      (id) => !failedLeaf || index.byId.get(id)?.status !== 'pending',
    );
    picked = new Set([...gathered, ...extra]);
  }
  const top = commonAncestor(index, picked);
  const copied = connect(index, picked, top);
  return { originals: ordered(index, copied, top), rerun: copied };
}

interface TreeIndex {
  byId: Map<string, TaskRow>;
  children: Map<string, string[]>;
  /** Tasks depending on each task. */
  dependents: Map<string, string[]>;
  root: string;
}

function indexTree(tree: readonly TaskRow[]): TreeIndex {
  const byId = new Map(tree.map((row) => [row.id, row]));
  const children = new Map<string, string[]>();
  const dependentsOf = new Map<string, string[]>();
  const add = (map: Map<string, string[]>, key: string, id: string) => {
    const list = map.get(key);
    if (list) list.push(id);
    else map.set(key, [id]);
  };
  // The tree holds the task being copied: it is never empty.
  let root = tree[0]?.id as string;
  for (const row of tree) {
    if (row.parent_id && byId.has(row.parent_id)) add(children, row.parent_id, row.id);
    else root = row.id;
    for (const dep of row.dependencies ?? []) add(dependentsOf, dep.id, row.id);
  }
  return { byId, children, dependents: dependentsOf, root };
}

/** Everything reachable from `start` along `next`, `start` included. */
function reach(start: Iterable<string>, next: (id: string) => readonly string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...start];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    for (const following of next(id)) stack.push(following); // no spread: a node may have 100k children
  }
  return seen;
}

function descendants(index: TreeIndex, ids: readonly string[]): Set<string> {
  return reach(ids, (id) => index.children.get(id) ?? []);
}

/** What `ids` depend on, transitively (within the tree), without `ids` themselves. */
function upstream(index: TreeIndex, ids: ReadonlySet<string>): Set<string> {
  const found = reach(ids, (id) =>
    (index.byId.get(id)?.dependencies ?? []).map((dep) => dep.id).filter((dep) => index.byId.has(dep)),
  );
  for (const id of ids) found.delete(id);
  return found;
}

/** What depends on `ids`, transitively, without `ids` themselves. */
function dependents(index: TreeIndex, ids: ReadonlySet<string>): Set<string> {
  const found = reach(ids, (id) => index.dependents.get(id) ?? []);
  for (const id of ids) found.delete(id);
  return found;
}

/** The lowest task whose subtree holds all of `ids`. */
function commonAncestor(index: TreeIndex, ids: ReadonlySet<string>): string {
  const [first, ...rest] = [...ids];
  const path: string[] = []; // from `first` up to the root
  for (
    let at: string | null | undefined = first;
    at && index.byId.has(at) && path.length < index.byId.size;
    at = index.byId.get(at)?.parent_id
  ) {
    path.push(at);
  }
  const height = new Map(path.map((id, i) => [id, i]));
  let lowest = 0;
  // Each walk stops at a task seen before, so all walks together visit each task once.
  const walked = new Set<string>(path);
  for (const id of rest) {
    let at: string | null | undefined = id;
    while (at && !walked.has(at)) {
      walked.add(at);
      at = index.byId.get(at)?.parent_id;
    }
    const reached = at ? height.get(at) : undefined;
    if (reached !== undefined) lowest = Math.max(lowest, reached);
  }
  return path[lowest] ?? index.root;
}

/** `ids` plus the ancestors linking each of them to `top`. */
function connect(index: TreeIndex, ids: ReadonlySet<string>, top: string): Set<string> {
  const out = new Set<string>([top]);
  for (const id of ids) {
    for (let at: string | null | undefined = id; at && !out.has(at); at = index.byId.get(at)?.parent_id) out.add(at);
  }
  return out;
}

/** The rows of `ids`, `top` first, then in tree order. */
function ordered(index: TreeIndex, ids: ReadonlySet<string>, top: string): [TaskRow, ...TaskRow[]] {
  // Every id picked was found by walking this tree's rows: each has one.
  const rest = [...ids].filter((id) => id !== top).map((id) => index.byId.get(id) as TaskRow);
  return [index.byId.get(top) as TaskRow, ...rest.sort((a, b) => a.position - b.position)];
}
