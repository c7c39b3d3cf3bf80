import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
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

// Not helpers (`_x`), hidden files, declarations or tests beside an executor (`x.test.ts`, `x.spec.ts`).
const EXECUTOR_FILE = /^(?![._])(?!.*\.(?:test|spec)\.m?[jt]s$).*(?<!\.d)\.(ts|mts|js|mjs)$/;
const SOURCE_FILE = /(?<!\.d)\.(ts|mts|js|mjs)$/;
// chokidar drops a file's `change` that comes within 50 ms of the previous one; waiting longer
// than that before reading means a dropped edit is always one the read will see.
const DEBOUNCE_MS = 60;

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
  const known = new Set<string>();
  let queue = Promise.resolve();

  const load = async (file: string): Promise<void> => {
    known.add(file);
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
    known.delete(file);
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

  // chokidar loses a watched folder that is deleted and created again, and misses one created
  // below a missing parent; so each folder is watched from the nearest existing ancestor of its
  // parent, pruned to the path leading to it.
  const roots = [...new Set(dirs.map((dir) => nearestExisting(dirname(dir))))];
  const watcher: FSWatcher | undefined =
    roots.length === 0
      ? undefined
      : watch(roots, {
          ignoreInitial: true,
          ignored: (path, stats) => !dirs.some((dir) => isWatched(path, dir, stats?.isFile())),
        });
  // A helper (a `_` file or folder) changed: reload the executors of its folder, which may import it.
  const reloadUsers = (helper: string) => {
    const dir = dirs.find((candidate) => isInside(helper, candidate));
    for (const file of known) if (dir && isInside(file, dir)) schedule(file, () => load(file));
  };
  const onFile = (action: (file: string) => Promise<void> | void) => (file: string) =>
    isHelper(file, dirs) ? reloadUsers(file) : schedule(file, () => action(file));
  if (watcher) {
    watcher.on('add', onFile(load));
    watcher.on('change', onFile(load));
    watcher.on('unlink', onFile(remove));
    watcher.on('error', (error) => log.error({ err: error }, 'executor folder watcher failed'));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }
  // Listed after the watcher is ready so no edit falls in between, and loaded through the same
  // queue so an edit made meanwhile is applied after the first load, not before it.
  for (const file of dirs.flatMap(listExecutorFiles)) queue = queue.then(() => load(file));
  await queue;

  return {
    /** Files that failed to load, newest state per file. */
    errors: (): ReloadError[] => [...errors.values()],
    /** Stops watching. */
    async close(): Promise<void> {
      for (const timer of timers.values()) clearTimeout(timer);
      await watcher?.close();
      await queue;
      // A change chokidar was still handling (a file written just before) can open a watch of
      // the file after the first close: closed by a second one, or the process would never exit.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await watcher?.close();
    },
  };
}

/**
 * Whether the watcher should look at `path` for executor folder `dir`: the folders leading to
 * `dir`, and below it what {@link listExecutorFiles} would load.
 */
function isWatched(path: string, dir: string, isFile: boolean | undefined): boolean {
  if (!isInside(path, dir)) return isInside(dir, path);
  const parts = relative(dir, path).split(sep);
  if (parts.some((part) => part === 'node_modules' || part.startsWith('.'))) return false;
  return isFile !== true || EXECUTOR_FILE.test(basename(path)) || (SOURCE_FILE.test(path) && isHelper(path, [dir]));
}

/** A helper module: a file or folder under an executor folder whose name starts with `_`. */
function isHelper(path: string, dirs: readonly string[]): boolean {
  const dir = dirs.find((candidate) => isInside(path, candidate));
  return (
    dir !== undefined &&
    relative(dir, path)
      .split(sep)
      .some((part) => part.startsWith('_'))
  );
}

/** True when `path` is `dir` or lies below it. */
function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function nearestExisting(dir: string): string {
  let current = dir;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

function listExecutorFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name.startsWith('.') || name.startsWith('_')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...listExecutorFiles(path));
    else if (EXECUTOR_FILE.test(name)) files.push(path);
  }
  return files;
}
