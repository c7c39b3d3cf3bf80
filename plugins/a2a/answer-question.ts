import type { Part } from '@a2a-js/sdk';
import { ApflowError, checkChange, isRecord, type PluginApp } from 'apflow';
import type { CallInfo } from './call-context.ts';
import { invalidParams } from './errors.ts';
import type { Question } from './questions.ts';

/** The answer a message gives, and the question it answers. */
export interface Answer {
  question: Question;
  input: unknown;
}

/** `{task_id, input}` and nothing else: the answer to one named question among several. */
function isChoice(value: unknown): value is { task_id: string; input: unknown } {
  return (
    isRecord(value) &&
    typeof value.task_id === 'string' &&
    Object.hasOwn(value, 'input') &&
    Object.keys(value).every((key) => key === 'task_id' || key === 'input')
  );
}

function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Reads the answer to an open question from a message's parts: the first data part's value (or,
 * as `{task_id, input}`, the answer to the question of that task), else the text parts joined by
 * newlines, parsed as JSON when they parse (`true`, `{"approved": true}`), else as the string.
 * Several open questions need the `{task_id, input}` form.
 */
export function readAnswer(taskId: string, parts: readonly Part[], questions: readonly Question[]): Answer {
  const content = parts.flatMap((part) => (part.content ? [part.content] : []));
  const data = content.find((part) => part.$case === 'data');
  const texts = content.flatMap((part) => (part.$case === 'text' ? [part.value] : []));
  const ids = questions.map((question) => question.task_id).join(', ');
  let input: unknown;
  if (data) {
    const value: unknown = data.value ?? null;
    if (isChoice(value)) {
      const question = questions.find((open) => open.task_id === value.task_id);
      if (!question)
        throw invalidParams(
          `task_id ${value.task_id} does not wait for an answer in task ${taskId}; the open questions are of tasks: ${ids}`,
        );
      return { question, input: value.input };
    }
    input = value;
  } else if (texts.length > 0) {
    input = parsedOrText(texts.join('\n'));
  } else {
    throw invalidParams(
      `task ${taskId} waits for an answer: send it as a data part (the answer as JSON) or as text; files are not answers`,
    );
  }
  const [only, ...others] = questions;
  if (!only || others.length > 0)
    throw invalidParams(
      `task ${taskId} waits for ${questions.length} answers: answer one with a data part {"task_id": …, "input": …} naming one of the tasks ${ids}`,
    );
  return { question: only, input };
}

/**
 * Answers a question of the tree as the A2A caller, with the tasks API's rules
 * (plugins/tasks-api/resume-method.ts): the caller must be allowed to change the task that asks;
 * the engine checks the answer against the question's schema (APF_INVALID_PARAMS, in its own words).
 */
export async function answerQuestion(app: PluginApp, answer: Answer, call: CallInfo): Promise<void> {
  const taskId = answer.question.task_id;
  const task = await app.tasks.get(taskId);
  if (!task) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${taskId} not found` });
  checkChange(call.principal, task.id, task.user_id);
  await app.engine.resume(task.id, answer.input, { by: call.principal?.user_id ?? null });
}
