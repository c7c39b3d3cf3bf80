import {
  ApflowError,
  checkChange,
  errorMessage,
  isApflowError,
  type PluginApp,
  type TaskEvent,
  type TaskWait,
} from 'apflow';
import type { McpCaller } from './caller.ts';
import { questionForm, type RequestedSchema } from './form-schema.ts';

/** What an `elicitation/create` answers. */
export interface ElicitAnswer {
  action: 'accept' | 'decline' | 'cancel';
  content?: Record<string, unknown>;
}

/** Sends `elicitation/create` (form mode) to the client of the tool call. */
export type Elicit = (
  params: { message: string; requestedSchema: RequestedSchema },
  options: { signal: AbortSignal; timeoutMs: number },
) => Promise<ElicitAnswer>;

/** How a question asked during a run ended, as the tool's answer lists it. */
export interface InputOutcome {
  task_id: string;
  outcome: 'answered' | 'declined' | 'cancelled' | 'refused' | 'failed';
  message: string;
}

type InputWait = Extract<TaskWait, { kind: 'input' }>;

/** An elicitation that nobody answers is given up after a day (the task still waits). */
const MAX_ASK_MS = 24 * 60 * 60 * 1000;
/** Past the question's own timeout: the engine's timeout withdraws the form first, not the request's. */
const TIMEOUT_GRACE_MS = 60_000;

/** Where the asker reports: a progress message, and who the task is. */
export interface AskerOptions {
  /** `elicitation/create` to the client; absent when the client did not declare `elicitation`. */
  elicit?: Elicit;
  note(message: string): void;
  nameOf(taskId: string): string;
  /** Aborted when the tool call ends: every elicitation still open is withdrawn. */
  signal: AbortSignal;
}

/**
 * Answers the run's questions (`task_waiting` for input) through the MCP client: with the
 * `elicitation` capability it shows the question as a form and resumes the task with the answer
 * (after the access check of `tasks.resume`), asking once more when the server refuses it; a
 * decline, a cancel or a second refusal leaves the task waiting, to be answered by `tasks.resume`,
 * A2A or the dashboard. Without the capability it only says, as progress, how to answer.
 */
export function createInputAsker(app: PluginApp, caller: McpCaller, options: AskerOptions) {
  const asking = new Map<string, AbortController>();
  const outcomes: InputOutcome[] = [];
  const answerWith = (taskId: string) =>
    `answer with tasks.resume {"task_id": "${taskId}", "input": …} on /tasks, A2A or the dashboard`;
  const stillWaits = (taskId: string) => `it still waits for input: ${answerWith(taskId)}`;
  // An internal error's details stay in the log, as for every tool failure.
  const shown = (error: unknown) =>
    isApflowError(error) && error.code !== 'APF_INTERNAL'
      ? error.message
      : `internal error (request ${caller.request.id})`;
  const end = (taskId: string, outcome: InputOutcome['outcome'], message: string) => {
    outcomes.push({ task_id: taskId, outcome, message });
    options.note(`${options.nameOf(taskId)}: ${message}`);
  };

  /**
   * Resumes the task with the answer, checked as `tasks.resume` checks its caller: undefined once
   * taken, else why not — `refused` when the answer does not match the question's schema.
   */
  async function resume(taskId: string, answer: unknown): Promise<{ refused: boolean; why: string } | undefined> {
    try {
      const row = await app.tasks.get(taskId);
      if (!row) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${taskId} not found` });
      checkChange(caller.principal, taskId, row.user_id);
      await app.engine.resume(taskId, answer, { by: caller.principal?.user_id ?? null });
      return undefined;
    } catch (error) {
      if (!isApflowError(error) || error.code === 'APF_INTERNAL')
        caller.log.error({ err: error, task_id: taskId }, 'cannot resume a task with an MCP elicitation answer');
      return { refused: isApflowError(error) && error.code === 'APF_INVALID_PARAMS', why: shown(error) };
    }
  }

  async function ask(elicit: Elicit, taskId: string, wait: InputWait, signal: AbortSignal): Promise<void> {
    const form = questionForm(wait.schema);
    const untilTimeout = wait.timeout_at ? Date.parse(wait.timeout_at) - Date.now() + TIMEOUT_GRACE_MS : MAX_ASK_MS;
    let message = wait.prompt;
    for (let attempt = 1; ; attempt += 1) {
      const timeoutMs = Math.max(1000, Math.min(MAX_ASK_MS, untilTimeout));
      const reply = await elicit({ message, requestedSchema: form.requestedSchema }, { signal, timeoutMs });
      if (signal.aborted) return;
      if (reply.action !== 'accept') {
        const what = reply.action === 'decline' ? 'declined' : 'cancelled';
        return end(taskId, what, `the question was ${what}; ${stillWaits(taskId)}`);
      }
      const failure = await resume(taskId, form.answerOf(reply.content ?? {}));
      if (!failure) return end(taskId, 'answered', 'answered through elicitation');
      if (!failure.refused) return end(taskId, 'failed', `the answer was not taken (${failure.why})`);
      if (attempt === 2)
        return end(taskId, 'refused', `the answer was refused again (${failure.why}); ${stillWaits(taskId)}`);
      message = `${wait.prompt}\n\nYour answer was refused: ${failure.why}. Please answer again.`;
    }
  }

  function start(elicit: Elicit, taskId: string, wait: InputWait): void {
    asking.get(taskId)?.abort();
    const controller = new AbortController();
    const { signal } = controller;
    const withdraw = () => controller.abort();
    if (options.signal.aborted) return;
    options.signal.addEventListener('abort', withdraw, { once: true });
    asking.set(taskId, controller);
    options.note(`${options.nameOf(taskId)}: waits for input (${wait.prompt}); asking you`);
    ask(elicit, taskId, wait, signal)
      .catch((error: unknown) => {
        // Aborted: the task was answered elsewhere, cancelled or timed out, or the call ended.
        if (signal.aborted) return;
        caller.log.warn({ err: error, task_id: taskId }, 'an MCP elicitation for a waiting task failed');
        end(taskId, 'failed', `could not ask for the input (${errorMessage(error)}); ${stillWaits(taskId)}`);
      })
      .finally(() => {
        options.signal.removeEventListener('abort', withdraw);
        if (asking.get(taskId) === controller) asking.delete(taskId);
      });
  }

  return {
    /** Hears every event of the run: a question starts an elicitation, any later event of its task ends it. */
    onEvent(event: TaskEvent): void {
      if (event.type === 'task_waiting' && event.waiting?.kind === 'input') {
        if (options.elicit) start(options.elicit, event.task_id, event.waiting);
        else
          options.note(
            `${options.nameOf(event.task_id)}: waits for input (${event.waiting.prompt}); ${answerWith(event.task_id)}`,
          );
        return;
      }
      const controller = asking.get(event.task_id);
      if (controller && event.type !== 'task_waiting') {
        asking.delete(event.task_id);
        controller.abort();
      }
    },
    /** How each elicitation of the run ended. */
    outcomes: (): readonly InputOutcome[] => outcomes,
  };
}
