import type { PluginApp, TaskRow, TaskWait } from 'apflow';
import type { WireJson } from './task-view.ts';

/** A question a task of the tree waits on (`ctx.askInput`): a data part of the A2A status message. */
export interface Question {
  task_id: string;
  prompt: string;
  schema?: Record<string, unknown>;
  timeout_at?: string;
}

/** The question of a wait for input (from a task's row or a `task_waiting` event). */
export function questionOf(taskId: string, wait: Extract<TaskWait, { kind: 'input' }>): Question {
  return {
    task_id: taskId,
    prompt: wait.prompt,
    ...(wait.schema ? { schema: wait.schema } : {}),
    ...(wait.timeout_at ? { timeout_at: wait.timeout_at } : {}),
  };
}

const ENDED = new Set(['completed', 'failed', 'cancelled']);

/**
 * The questions tasks of the tree of `root` wait on now, in the tree's order (none once it
 * ended). The tree is read only when its counts say a task waits for input.
 */
export async function openQuestions(app: PluginApp, root: TaskRow | undefined): Promise<Question[]> {
  if (!root || ENDED.has(root.status)) return [];
  const counts = await app.tasks.counts(root.id);
  if (!counts.input_required) return [];
  return (await app.tasks.tree(root.id)).flatMap((row) =>
    row.status === 'input_required' && row.waiting?.kind === 'input' ? [questionOf(row.id, row.waiting)] : [],
  );
}

/**
 * The parts of a status message asking `questions`: a text part with the prompt (one line per
 * question, naming its task, when there are several), then one data part per question.
 */
export function questionParts(questions: readonly Question[]): WireJson[] {
  const only = questions.length === 1 ? questions[0] : undefined;
  const text = only
    ? only.prompt
    : questions.map((question) => `task ${question.task_id}: ${question.prompt}`).join('\n');
  return [{ text }, ...questions.map((question) => ({ data: { ...question } }))];
}

/** A tree as an A2A task shows it: its root, and the questions open in it. */
export interface TreeNow {
  root: TaskRow | undefined;
  questions: Question[];
}

/**
 * The tree of `rootId` now (none for a task without a tree). The root is read first: updates
 * followed from its `event_seq` then see every question asked or answered after what was read.
 */
export async function readTree(app: PluginApp, rootId: string | null): Promise<TreeNow> {
  const root = rootId ? ((await app.tasks.get(rootId)) ?? undefined) : undefined;
  return { root, questions: await openQuestions(app, root) };
}
