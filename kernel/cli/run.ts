import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TaskEvent } from '../hooks/hook-types.ts';
import type { TaskWait } from '../tasks/task-wait.ts';
import { ApflowError } from '../errors/apflow-error.ts';
import { openForCommand } from './open-tasks.ts';

/** Options of `apflow run`. */
export interface RunOptions {
  config?: string;
  userId?: string;
}

/**
 * `apflow run FILE.json`: creates the tree in the configured database, runs it here, shows live
 * progress on a terminal, prints the outcome as JSON on stdout, and exits 1 unless it completed.
 * Ctrl-C cancels the run.
 */
export async function runFile(file: string, options: RunOptions): Promise<void> {
  const tasks = readTasks(file);
  const app = await openForCommand(options);
  try {
    const tree = await app.engine.createTree(tasks, { userId: options.userId ?? null });
    const names = new Map<string, string>();
    const walk = (node: { id: string; name: string; children?: unknown[] }) => {
      names.set(node.id, node.name);
      for (const child of (node.children ?? []) as (typeof node)[]) walk(child);
    };
    walk(tree);
    const live = process.stderr.isTTY ? app.engine.subscribe((event) => showEvent(event, names)) : undefined;
    const run = await app.engine.execute(tree.id);
    // The tree was created a moment ago by this command: nothing else can have begun it.
    if (!run.started) throw new Error(`Task ${tree.id} is already running`);
    const interrupt = () => void app.engine.cancel([tree.id], 'Cancelled from the command line');
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const outcome = await run.done;
    live?.();
    process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
    process.exitCode = outcome.status === 'completed' ? 0 : 1;
  } finally {
    await app.close();
  }
}

function readTasks(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : resolve(file), 'utf8');
  } catch (error) {
    throw new ApflowError('APF_INVALID_PARAMS', { message: `cannot read ${file}: ${(error as Error).message}` });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ApflowError('APF_PARSE_ERROR', { message: `${file} is not valid JSON: ${(error as Error).message}` });
  }
  if (
    parsed &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    Array.isArray((parsed as { tasks?: unknown }).tasks)
  ) {
    return (parsed as { tasks: unknown[] }).tasks;
  }
  return parsed;
}

const MARKS: Partial<Record<TaskEvent['type'], string>> = {
  task_start: '▶',
  task_completed: '✓',
  task_failed: '✗',
  task_cancelled: '■',
  task_waiting: '⏸',
  progress: '…',
};

function showEvent(event: TaskEvent, names: Map<string, string>): void {
  const mark = MARKS[event.type];
  if (!mark) return;
  const name = names.get(event.task_id) ?? event.task_id;
  const detail =
    event.error ??
    event.message ??
    (event.waiting ? waitingText(event.waiting, event.task_id) : undefined) ??
    (event.type === 'progress' ? `${Math.round(event.progress * 100)}%` : event.status);
  process.stderr.write(`${mark} ${name}  ${detail}\n`);
}

/** What a waiting task waits for, and for a question how to answer it. */
function waitingText(wait: TaskWait, taskId: string): string {
  if (wait.kind === 'sleep') return `sleeping until ${wait.until}`;
  if (wait.kind === 'children') return `waiting for ${wait.task_ids.length} spawned tasks`;
  return `asks: ${wait.prompt} (answer with tasks.resume {"task_id": "${taskId}", "input": …} on a server using this database)`;
}
