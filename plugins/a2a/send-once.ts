import { createHash } from 'node:crypto';
import { Message, SendMessageRequest, type Task } from '@a2a-js/sdk';
import { isApflowError, isRecord, type PluginApp } from 'apflow';
import type { CallInfo } from './call-context.ts';
import { invalidParams, unsupported } from './errors.ts';
import type { Loaded, Turn } from './message-turns.ts';
import { readTree, type TreeNow } from './questions.ts';
import { treeUpdates, untilInterrupted } from './task-updates.ts';
import { isTerminalState, stateOf, STATE, taskObject } from './task-view.ts';

/** What a send did: this request's own turn, the first request's reply Message, or its task (a retry). */
export type Sent = { turn: Turn } | { reply: Message } | { taskId: string };

/**
 * The idempotency key of a message: its `messageId`, apart from the tasks API's keys (a2a:), a
 * long one hashed so any messageId fits.
 */
const keyOf = (messageId: string) =>
  messageId.length <= 200 ? `a2a:${messageId}` : `a2a:sha256:${createHash('sha256').update(messageId).digest('hex')}`;

/**
 * Applies a message once per `messageId` of the caller (`app.idempotency`): a retry of a send
 * (the same messageId, the same message) within 24 h starts nothing new and gets the first
 * send's task (as it is now) or reply Message; the same messageId with another message is
 * refused. What is stored is the task's id, not the Task: the first answer of a blocking send is
 * only known when its tree ends, and a retry of it waits for that end itself.
 */
export async function sendOnce(
  app: PluginApp,
  request: SendMessageRequest,
  call: CallInfo,
  take: () => Promise<Turn | { reply: Message }>,
): Promise<Sent> {
  const messageId = request.message?.messageId;
  if (!messageId) return wrap(await take());
  let fresh: Sent | undefined;
  const first = await app.idempotency
    .once(
      {
        key: keyOf(messageId),
        userId: call.principal?.user_id ?? null,
        method: 'message/send',
        params: SendMessageRequest.toJSON(request),
      },
      async () => {
        const turn = await take();
        fresh = wrap(turn);
        return 'reply' in turn ? { message: Message.toJSON(turn.reply) } : { task_id: turn.row.id };
      },
    )
    .catch((error: unknown) => {
      throw inA2aWords(error, messageId);
    });
  if (fresh) return fresh;
  if ('message' in first) return { reply: Message.fromJSON(first.message) };
  return { taskId: first.task_id };
}

const wrap = (turn: Turn | { reply: Message }): Sent => ('reply' in turn ? turn : { turn });

/** The key's own refusals, said of the messageId. */
function inA2aWords(error: unknown, messageId: string): unknown {
  if (!isApflowError(error) || !isRecord(error.data) || error.data.idempotency_key === undefined) return error;
  if (error.data.reason === 'in_progress')
    return unsupported(
      `message ${messageId} is still being handled by an earlier send of it: ask again later (tasks/get), or send a new messageId`,
    );
  if (error.data.reason === 'different_request')
    return invalidParams(
      `message.messageId ${messageId} was already sent with a different message: give each new message its own messageId`,
    );
  return error;
}

/**
 * The answer to a retried send: its task as it is now, once its tree has ended or a task of it
 * asks for input when the send blocks (as the first send answers), at once with `returnImmediately`.
 */
export async function retriedTask(
  app: PluginApp,
  loaded: Loaded,
  options: { blocking: boolean; historyLength?: number },
): Promise<Task> {
  const { row, root, questions } = loaded;
  let now: TreeNow = loaded;
  const state = stateOf(row, root, questions);
  if (options.blocking && root && !isTerminalState(state) && state !== STATE.inputRequired) {
    // Its updates from now on, to the tree's end or a question (the updates themselves are not needed).
    await untilInterrupted(treeUpdates(app, row, root.id, root.event_seq, { questions }));
    now = await readTree(app, root.id);
  }
  return taskObject(row, now.root, { historyLength: options.historyLength, questions: now.questions });
}
