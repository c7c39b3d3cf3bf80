import { runGroup } from './command-group.ts';
import { readCommands } from './tasks-read.ts';
import { watch } from './tasks-watch.ts';
import { writeCommands } from './tasks-write.ts';

/**
 * `apflow tasks <action>`: the original's task commands (list, get, tree, children, status, count,
 * create, update, delete, copy, cancel, watch) with its flags, each one call of `apflow/client`:
 * on the configured database in this process, or on a server with `--server` (and a token), with
 * the same output either way.
 */
export async function tasksGroup(argv: string[]): Promise<void> {
  await runGroup(
    'tasks',
    'Tasks on the configured database, or on a server with --server URL (same output either way).',
    [...readCommands, ...writeCommands, watch],
    argv,
  );
}
