import { dirname, isAbsolute } from 'node:path';
import { watch } from 'chokidar';
import type { PluginEntryConfig } from '../config/config-schema.ts';
import type { Logger } from '../internal/logger.ts';

const DEBOUNCE_MS = 100;

/**
 * Watches the folders of the config's local plugins (with `--reload`) and calls `onChange`
 * once a burst of edits settles.
 */
export function watchPluginFiles(entries: readonly PluginEntryConfig[], onChange: () => void, log: Logger) {
  const paths = entries
    .map((entry) => (typeof entry === 'string' ? entry : entry.name))
    .filter((spec) => isAbsolute(spec))
    .map((file) => (/\.(ts|mts|js|mjs)$/.test(file) ? dirname(file) : file));
  const watcher = watch([...new Set(paths)], { ignoreInitial: true, ignored: (path) => path.includes('node_modules') });
  let timer: NodeJS.Timeout | undefined;
  watcher.on('all', (event, path) => {
    log.debug({ event, path }, 'plugin file changed');
    clearTimeout(timer);
    timer = setTimeout(onChange, DEBOUNCE_MS);
  });
  return {
    close: async () => {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
