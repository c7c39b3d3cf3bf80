import { isRecord } from 'apflow';
import type { PluginApp } from 'apflow';
import { exampleTrees, SELF_PATH_PARAM, type ExampleTree } from './example-trees.ts';
import { selfUrl } from './self-url.ts';

/** What `init` did, per example root id. */
export interface InitReport {
  created: { id: string; name: string }[];
  /** Examples already there (left alone without `force`). */
  existing: { id: string; name: string }[];
  /** Examples not created, with the reason (an extension not loaded, a tree running now). */
  skipped: { id: string; name: string; reason: string }[];
}

/** What the plugin provides as `app.service('examples')` (used by `apflow examples init`). */
export interface ExamplesService {
  /**
   * Creates the example trees that do not exist yet; with `force`, deletes the existing ones
   * first (only the example trees) and creates them again.
   */
  init(options?: { force?: boolean }): Promise<InitReport>;
  /** True when the database holds no task at all. */
  isEmpty(): Promise<boolean>;
  /** Points the REST example at this server listening on `port`; true if it changed. */
  pointAtSelf(port: number): Promise<boolean>;
}

/** Builds the examples service over the plugin's app. */
export function createExamplesService(app: PluginApp): ExamplesService {
  const trees = (): ExampleTree[] => exampleTrees(selfUrl(app.config));

  const deleteTree = async (rootId: string): Promise<string | undefined> => {
    const running =
      app.engine.isRunning(rootId) || (await app.tasks.runningTrees()).some((lease) => lease.id === rootId);
    if (running) return 'it is running now';
    const rows = await app.tasks.tree(rootId);
    if (rows.length) await app.tasks.delete(rows.map((row) => row.id));
    return undefined;
  };

  return {
    async init(options = {}) {
      const report: InitReport = { created: [], existing: [], skipped: [] };
      for (const tree of trees()) {
        const { id, name } = tree;
        if (tree.needs && !app.executors.get(tree.needs.executor)) {
          report.skipped.push({ id, name, reason: tree.needs.why });
          continue;
        }
        const taken = await app.tasks.existingIds(tree.tasks.map((task) => String(task.id)));
        if (taken.size > 0 && !options.force) {
          report.existing.push({ id, name });
          continue;
        }
        // A tree stored under these ids by someone else (not rooted here) is deleted by its own root.
        const roots = new Set([id, ...(await app.tasks.getMany([...taken])).map((row) => row.root_id)]);
        const refused = (await Promise.all([...roots].map(deleteTree))).find(Boolean);
        if (refused) {
          report.skipped.push({ id, name, reason: refused });
          continue;
        }
        try {
          await app.engine.createTree(tree.tasks, { userId: null });
          report.created.push({ id, name });
        } catch (error) {
          // Another process (a cluster worker, the CLI) may have created it a moment ago.
          if ((await app.tasks.existingIds([id])).size > 0) report.existing.push({ id, name });
          else report.skipped.push({ id, name, reason: error instanceof Error ? error.message : String(error) });
        }
      }
      return report;
    },
    async isEmpty() {
      return (await app.tasks.list({ root_only: false, limit: 1 })).length === 0;
    },
    async pointAtSelf(port) {
      const changes = [];
      for (const tree of trees()) {
        for (const task of tree.tasks) {
          const path = isRecord(task.params) ? task.params[SELF_PATH_PARAM] : undefined;
          if (typeof path !== 'string') continue;
          const row = await app.tasks.get(String(task.id));
          const stored = row?.params?.[SELF_PATH_PARAM];
          if (!row || typeof stored !== 'string' || row.status === 'in_progress') continue;
          const url = `${selfUrl(app.config, port)}${stored}`;
          if (row.inputs?.url === url) continue;
          changes.push({ id: row.id, set: { inputs: { ...row.inputs, url }, updated_at: new Date().toISOString() } });
        }
      }
      if (changes.length) await app.tasks.update(changes);
      return changes.length > 0;
    },
  };
}
