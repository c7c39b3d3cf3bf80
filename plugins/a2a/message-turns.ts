import { randomUUID } from 'node:crypto';
import { Message, Role, type SendMessageRequest } from '@a2a-js/sdk';
import { ApflowError, isApflowError, isRecord, mayAccess, mayChange, type PluginApp } from 'apflow';
import type { A2aStore, A2aTaskRow } from './a2a-store.ts';
import { answerQuestion, readAnswer } from './answer-question.ts';
import type { CallInfo } from './call-context.ts';
import { invalidParams, stateName, taskNotFound, unsupported } from './errors.ts';
import { readIntent } from './message-intent.ts';
import type { PushService } from './push-service.ts';
import { readTree, type Question, type TreeNow } from './questions.ts';
import { executeNewTree, runOperation } from './tasks-api-calls.ts';
import { agentMessage, isTerminalState, stateOf, STATE, type WireJson } from './task-view.ts';

const WAITING_FOR_TREE =
  'Send the task tree to run as a data part {"tasks": [...]} (each task: name, schemas.method, inputs, parent_id, dependencies), ' +
  'with this taskId to continue this task; or name another operation in metadata.method (tasks.get, tasks.list, ...).';

/** An A2A task as the caller may see it, with its tree now. */
export interface Loaded extends TreeNow {
  row: A2aTaskRow;
}

/** What one message did to its task: the task, and the run it started or answered (if any). */
export interface Turn extends Loaded {
  /**
   * The run this message started (a tree) or let go on (an answer): its updates follow event
   * `after`, with `questions` open then.
   */
  run?: { after: number; questions: Question[] };
}

/**
 * How A2A messages act on apflow: loading an A2A task as the caller may see or change it, and
 * applying one message to its task (a new task, a tree to run, an answer to a question of its
 * tree, or another operation).
 */
export function createMessageTurns(
  app: PluginApp,
  store: A2aStore,
  push: PushService,
  options: { maxHistory: number },
) {
  async function load(id: string, call: CallInfo): Promise<Loaded> {
    const row = id ? await store.getTask(id) : undefined;
    if (!row || !mayAccess(call.principal, row.user_id)) throw taskNotFound(id);
    return { row, ...(await readTree(app, row.root_task_id)) };
  }

  /**
   * The task `id` as the caller may change it (send to, cancel, configure): an ownerless task (made
   * while authentication was off) is read-only to users other than administrators.
   */
  async function loadForChange(id: string, call: CallInfo): Promise<Loaded> {
    const loaded = await load(id, call);
    if (!mayChange(call.principal, loaded.row.user_id)) {
      throw unsupported(
        `task ${id} belongs to no user: only an administrator may change it; send a message without a taskId to start your own`,
      );
    }
    return loaded;
  }

  const sealTaskInputs = (task: unknown) => {
    if (!isRecord(task) || !isRecord(task.inputs) || typeof task.name !== 'string') return;
    const { name, params, schemas, inputs } = task;
    task.inputs = app.tasks.sealInputs({
      name,
      inputs,
      params: isRecord(params) ? params : null,
      schemas: isRecord(schemas) ? schemas : null,
    });
  };

  const remember = (row: A2aTaskRow, message: WireJson) => {
    row.history = [...row.history, message].slice(-options.maxHistory);
  };

  /** Creates the tree and starts it in one transaction, and ties it to the task. */
  async function startTree(row: A2aTaskRow, tasks: unknown[], call: CallInfo): Promise<Turn> {
    const run = await executeNewTree(app, tasks, call).catch(async (error: unknown) => {
      // A tree apflow does not take leaves the task waiting for one.
      if (!isApflowError(error)) throw error;
      // Refused before it began (a spent budget): nothing runs, and the task ends failed with the
      // reason instead of staying submitted.
      row.state = STATE.failed;
      row.status_message = agentMessage(row, [{ text: error instanceof Error ? error.message : String(error) }]);
      row.updated_at = new Date().toISOString();
      await store.saveTask(row);
      throw error;
    });
    // Created by this message in the same transaction: nothing else can have begun it.
    if (!run.started) throw new ApflowError('APF_CONFLICT', { message: `Task ${run.root_task_id} is already running` });
    row.root_task_id = run.root_task_id;
    row.state = STATE.submitted;
    row.status_message = null;
    row.updated_at = new Date().toISOString();
    await store.saveTask(row);
    push.watch(row, run.root_task_id);
    return { row, ...(await readTree(app, run.root_task_id)), run: { after: run.first_seq - 1, questions: [] } };
  }

  /** Answers the open question the message answers (see answer-question.ts). */
  async function answer(loaded: Loaded, message: Message, call: CallInfo): Promise<void> {
    await answerQuestion(app, readAnswer(loaded.row.id, message.parts, loaded.questions), call);
  }

  function checkMessage(request: SendMessageRequest): NonNullable<SendMessageRequest['message']> {
    const message = request.message;
    if (!message) throw invalidParams('params.message is required');
    if (!message.messageId) throw invalidParams('message.messageId is required');
    if (message.role !== Role.ROLE_USER) throw invalidParams('message.role must be user');
    if (message.parts.length === 0) throw invalidParams('message.parts must hold at least one part');
    if (message.parts.some((part) => !part.content))
      throw invalidParams('every part needs text, data, url or raw content');
    return message;
  }

  /** Applies one message: to its task (taskId) or to a new one. Answers a Message for other operations. */
  async function takeMessage(request: SendMessageRequest, call: CallInfo): Promise<Turn | { reply: Message }> {
    const message = checkMessage(request);
    const intent = readIntent(request);
    if (intent.kind === 'method' && !message.taskId) {
      const result = await runOperation(app, intent.method, intent.params, call);
      const contextId = message.contextId || randomUUID();
      return {
        reply: Message.fromJSON({
          ...agentMessage({ id: '', context_id: contextId }, [
            { data: { protocol: 'a2a', method: intent.method, result } },
          ]),
          taskId: '',
        }),
      };
    }
    const now = new Date().toISOString();
    let loaded: Loaded;
    let answered = false;
    if (message.taskId) {
      loaded = await loadForChange(message.taskId, call);
      const { row, root, questions } = loaded;
      if (message.contextId && message.contextId !== row.context_id) {
        throw invalidParams(
          `message.contextId ${message.contextId} does not match task ${row.id} (context ${row.context_id})`,
        );
      }
      const state = stateOf(row, root, questions);
      if (isTerminalState(state))
        throw unsupported(`task ${row.id} is ${stateName(state)}, and a terminal task takes no more messages`);
      if (intent.kind === 'method')
        throw unsupported('other operations (metadata.method) are asked in a message without a taskId');
      // While a task of the tree waits for an answer, the message is that answer (whatever it holds).
      if (questions.length > 0) {
        await answer(loaded, message, call);
        answered = true;
      }
    } else {
      const row: A2aTaskRow = {
        id: randomUUID(),
        context_id: message.contextId || randomUUID(),
        user_id: call.principal?.user_id ?? null,
        root_task_id: null,
        state: STATE.inputRequired,
        status_message: null,
        history: [],
        metadata: null,
        created_at: now,
        updated_at: now,
      };
      loaded = { row, root: undefined, questions: [] };
    }
    const row = loaded.row;
    const runsTree = intent.kind === 'tree' && !answered;
    // The history keeps the message, and the tree's secret inputs in it only sealed: sealed in
    // place, so the tree is created from the same sealed values (they open only for a run).
    if (runsTree) for (const task of intent.tasks) sealTaskInputs(task);
    remember(row, Message.toJSON({ ...message, taskId: row.id, contextId: row.context_id }) as WireJson);
    row.updated_at = now;
    if (!message.taskId) await store.insertTask(row);
    const pushConfig = request.configuration?.taskPushNotificationConfig;
    if (pushConfig?.url) await push.create(row, { ...pushConfig, taskId: row.id }, call, 0);

    if (runsTree) {
      if (row.root_task_id)
        throw unsupported(`task ${row.id} already runs a task tree; send a new tree without a taskId`);
      return startTree(row, intent.tasks, call);
    }
    if (!row.root_task_id) {
      const reply = agentMessage(row, [{ text: WAITING_FOR_TREE }]);
      row.status_message = reply;
      remember(row, reply);
    }
    await store.saveTask(row);
    if (!answered || !row.root_task_id) return loaded;
    push.watch(row, row.root_task_id);
    // The run goes on from the answer: updates from what is read now (events before it tell of
    // the time before the answer). A tree that ended meanwhile has nothing more to follow.
    const tree = await readTree(app, row.root_task_id);
    if (isTerminalState(stateOf(row, tree.root, tree.questions))) return { row, ...tree };
    return { row, ...tree, run: { after: tree.root?.event_seq ?? 0, questions: tree.questions } };
  }

  return { load, loadForChange, takeMessage };
}
