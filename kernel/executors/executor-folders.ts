import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { importDefault } from '../internal/fresh-import.ts';
import type { Logger } from '../internal/logger.ts';
import type { ExecutorTable } from './executor-table.ts';

/** A file that failed to load; the previous version of its executors stays live. */
export interface ReloadError {
  file: string;
  error: string;
  at: string;
}

const EXECUTOR_FILE = /^(?![._]).*(?<!\.d)\.(ts|mts|js|mjs)$/;
const DEBOUNCE_MS = 25;

/**
 * Loads executor files from `dirs` into `table` and keeps them live: a new or changed file
 * replaces that file's executors for the next task, a deleted file removes them, and a file
 * that fails to load keeps its previous executors and is listed in {@link ReloadError}s.
 */
export async function createExecutorFolders(options: {
  dirs: readonly string[];
  table: ExecutorTable;
  log: Logger;
  /** Called after every load attempt (tests and metrics listen here). */
  onReload?: (event: { file: string; ok: boolean; ids: string[] }) => void;
}) {
  const { dirs, table, log } = options;
  const errors = new Map<string, ReloadError>();
  const timers = new Map<string, NodeJS.Timeout>();
  let queue = Promise.resolve();

  const load = async (file: string): Promise<void> => {
    try {
      const exported = await importDefault(file, { fresh: true });
      const definitions = Array.isArray(exported) ? exported : [exported];
      const loaded = table.replaceSource(file, definitions);
      errors.delete(file);
      const ids = loaded.map((entry) => entry.definition.id);
      log.info({ file, executors: ids }, 'executor file loaded');
      options.onReload?.({ file, ok: true, ids });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      errors.set(file, { file, error: message, at: new Date().toISOString() });
      log.error({ file, err: error }, 'executor file failed to load; keeping the previous version');
      options.onReload?.({ file, ok: false, ids: [] });
    }
  };
  const remove = (file: string): void => {
    table.removeSource(file);
    errors.delete(file);
    log.info({ file }, 'executor file removed');
    options.onReload?.({ file, ok: true, ids: [] });
  };
  // Loads run one at a time so two quick edits cannot finish out of order.
  const schedule = (file: string, action: () => Promise<void> | void) => {
    clearTimeout(timers.get(file));
    timers.set(
      file,
      setTimeout(() => {
        timers.delete(file);
        queue = queue.then(action, action);
      }, DEBOUNCE_MS),
    );
  };

  for (const file of dirs.flatMap(listExecutorFiles)) await load(file);

  const watcher: FSWatcher | undefined = dirs.length === 0 ? undefined : watch([...dirs], {
    ignoreInitial: true,
    ignored: (path, stats) => Boolean(stats?.isFile() && !EXECUTOR_FILE.test(basename(path))) || path.includes('node_modules'),
  });
  if (watcher) {
    watcher.on('add', (file) => schedule(file, () => load(file)));
    watcher.on('change', (file) => schedule(file, () => load(file)));
    watcher.on('unlink', (file) => schedule(file, () => remove(file)));
    watcher.on('error', (error) => log.error({ err: error }, 'executor folder watcher failed'));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  return {
    /** Files that failed to load, newest state per file. */
    errors: (): ReloadError[] => [...errors.values()],
    /** Stops watching. */
    async close(): Promise<void> {
      for (const timer of timers.values()) clearTimeout(timer);
      await watcher?.close();
      await queue;
    },
  };
}

/** The live executor folders. */
export type ExecutorFolders = Awaited<ReturnType<typeof createExecutorFolders>>;

function listExecutorFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...listExecutorFiles(path));
    else if (EXECUTOR_FILE.test(name)) files.push(path);
  }
  return files;
}
