import { ApflowError, isApflowError } from '../errors/apflow-error.ts';
import type { RequestContext } from '../hooks/hook-types.ts';
import { buildTaskTree } from '../tasks/build-task-tree.ts';
import { buildTrees, type TaskTreeJson } from '../tasks/task-record.ts';
import type { EngineCore } from './engine-core.ts';
import type { TaskRepository } from './task-repository.ts';

/** Ids given in a tasks array (to check which are taken already). */
const givenIds = (input: unknown) =>
  (Array.isArray(input) ? input : [input]).flatMap((task: unknown) =>
    task && typeof task === 'object' && 'id' in task && typeof task.id === 'string' ? [task.id] : [],
  );

/** Options of {@link createTree}. */
export interface CreateTreeOptions {
  userId?: string | null;
  request?: RequestContext;
  /**
   * Keep the given ids: one that is taken (also by a tree created at the same moment) is an
   * error (APF_CONFLICT) instead of a fresh UUID — for callers whose ids say what the tree is
   * (a schedule's fire), where a second tree under other ids would be a duplicate.
   */
  exactIds?: boolean;
}

/**
 * Checks a tasks array and builds its rows (root first), as {@link createTree} stores them: a
 * given id that is taken gets a fresh UUID (`taken` names those), unless `exactIds`. With
 * `lookUp` false the ids are kept as given without asking which are taken: for an insert that
 * leaves out taken ids and says so (insert-new-trees.ts), whose caller then comes back here.
 */
export async function prepareTree(
  core: EngineCore,
  repo: TaskRepository,
  input: unknown,
  options: CreateTreeOptions,
  lookUp = true,
) {
  const given = lookUp ? givenIds(input) : [];
  const taken = given.length ? await repo.existingIds(given) : new Set<string>();
  if (options.exactIds && taken.size > 0) throw clash(taken);
  const rows = buildTaskTree(input, { taken, defaultUserId: options.userId, maxTasks: core.settings.max_tree_size });
  return { taken, rows };
}

const clash = (ids: Iterable<string>) =>
  new ApflowError('APF_CONFLICT', { message: `Task id ${[...ids].join(', ')} exists already` });

/**
 * Checks a tasks array and stores it as one tree in one transaction; returns it nested, root
 * first. A given id that is taken gets a fresh UUID (the original's rule), also when a tree
 * created at the same moment takes it — unless `exactIds`.
 */
export async function createTree(
  core: EngineCore,
  repo: TaskRepository,
  input: unknown,
  options: CreateTreeOptions = {},
): Promise<TaskTreeJson> {
  const build = () => prepareTree(core, repo, input, options);
  let { taken, rows } = await build();
  try {
    await repo.insertTree(rows);
  } catch (error) {
    // An insert whose commit may have landed (the database went away) must not be stored again
    // under fresh ids: only a clash of given ids is worth a second look.
    if (isApflowError(error)) throw error;
    const again = await build();
    if (![...again.taken].some((id) => !taken.has(id))) throw error;
    ({ taken, rows } = again);
    await repo.insertTree(rows);
  }
  const tree = buildTrees(rows)[0] as TaskTreeJson;
  if (options.request) core.scopes.set(tree.id, options.request.state);
  return tree;
}
