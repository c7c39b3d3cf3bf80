import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApflowError } from '../errors/apflow-error.ts';
import { errorMessage } from '../internal/error-message.ts';
import { isRecord } from '../internal/is-record.ts';

/** One task as `tasks.create` takes it (the server checks its fields). */
export type TaskInput = Record<string, unknown>;

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });

/** The whole of standard input, without its final newline (a token or password piped in has one). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** A file's text (`-`: standard input, read whole); an unreadable file is an error naming it. */
export function readText(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : resolve(file), 'utf8');
  } catch (error) {
    throw invalid(`cannot read ${file}: ${errorMessage(error)}`);
  }
}

/** JSON text parsed; `from` names where it came from in the error (`--tasks`, a file, standard input). */
export function parseJson(text: string, from: string): unknown {
  if (text.trim() === '') throw new ApflowError('APF_PARSE_ERROR', { message: `${from} is empty: expected JSON` });
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ApflowError('APF_PARSE_ERROR', { message: `${from} is not valid JSON: ${errorMessage(error)}` });
  }
}

/** A JSON file's value (`-`: standard input). */
export function readJsonFile(file: string): unknown {
  return parseJson(readText(file), file === '-' ? 'standard input' : file);
}

/**
 * The tasks of a tasks document, as `tasks create` and `run flow` take one: a tasks array,
 * `{"tasks": [...]}` (the guide's form), or one task object. `from` names it in the errors.
 */
export function readTasks(value: unknown, from: string): TaskInput[] {
  const tasks = Array.isArray(value)
    ? value
    : isRecord(value) && Object.hasOwn(value, 'tasks')
      ? value.tasks
      : isRecord(value)
        ? [value]
        : undefined;
  if (!Array.isArray(tasks)) throw invalid(`${from} must hold a tasks array, {"tasks": [...]}, or one task object`);
  if (tasks.length === 0) throw invalid(`${from} holds no tasks`);
  tasks.forEach((task, index) => {
    if (!isRecord(task))
      throw invalid(`${from}: task ${index} is not a JSON object (${JSON.stringify(task)?.slice(0, 60)})`);
  });
  return tasks as TaskInput[];
}

/** The tasks with `user_id` set on those that name no owner (`-u`). */
export function withOwner(tasks: TaskInput[], userId: string | undefined): TaskInput[] {
  if (userId === undefined) return tasks;
  return tasks.map((task) =>
    task.user_id === undefined || task.user_id === null ? { ...task, user_id: userId } : task,
  );
}
