import { basename, dirname, isAbsolute, relative, sep } from 'node:path';
import { watch } from 'chokidar';
import type { PluginEntryConfig } from '../config/config-schema.ts';
import type { Logger } from '../internal/logger.ts';

// Longer than chokidar's 50 ms window in which a second `change` of a file is dropped, so the
// reload always reads the last edit.
const DEBOUNCE_MS = 100;
const SOURCE_FILE = /\.(ts|mts|cts|js|mjs|cjs|json)$/;

/**
 * Watches the folders of the config's local plugins (with `--reload`) and calls `onChange`
 * once a burst of edits settles. Resolves once the watcher is ready, so no later edit is missed.
 */
export async function watchPluginFiles(entries: readonly PluginEntryConfig[], onChange: () => void, log: Logger) {
  const paths = [
    ...new Set(
      entries
        .map((entry) => (typeof entry === 'string' ? entry : entry.name))
        .filter((spec) => isAbsolute(spec))
        .map((file) => (SOURCE_FILE.test(file) ? dirname(file) : file)),
    ),
  ];
  // A plugin file often sits in the project folder, next to the database (`.data/`), logs and
  // node_modules: only source files are worth a new generation.
  const ignored = (path: string, stats?: { isFile(): boolean }) => {
    const root = paths.find((folder) => path === folder || path.startsWith(`${folder}${sep}`));
    const parts = root === undefined ? [] : relative(root, path).split(sep);
    if (parts.some((part) => part === 'node_modules' || part.startsWith('.'))) return true;
    return Boolean(stats?.isFile() && !SOURCE_FILE.test(basename(path)));
  };
  const watcher = watch(paths, { ignoreInitial: true, ignored });
  let timer: NodeJS.Timeout | undefined;
  watcher.on('all', (event, path) => {
    log.debug({ event, path }, 'plugin file changed');
    clearTimeout(timer);
    timer = setTimeout(onChange, DEBOUNCE_MS);
  });
  watcher.on('error', (error) => log.error({ err: error }, 'plugin file watcher failed'));
  if (paths.length > 0) await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    close: async () => {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
