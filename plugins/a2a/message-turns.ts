import { randomUUID } from 'node:crypto';
import { Message, Role, type SendMessageRequest } from '@a2a-js/sdk';
import { ApflowError, isRecord, mayAccess, mayChange, type PluginApp, type TaskRow } from 'apflow';
import type { A2aStore, A2aTaskRow } from './a2a-store.ts';
import type { CallInfo } from './call-context.ts';
import { invalidParams, stateName, taskNotFound, unsupported } from './errors.ts';
import { readIntent } from './message-intent.ts';
import type { PushService } from './push-service.ts';
import { runOperation, createTree } from './tasks-api-calls.ts';
import { agentMessage, isTerminalState, stateOf, STATE, type WireJson } from './task-view.ts';

const WAITING_FOR_TREE =
  'Send the task tree to run as a data part {"tasks": [...]} (each task: name, schemas.method, inputs, parent_id, dependencies), ' +
  'with this taskId to continue this task; or name another operation in metadata.method (tasks.get, tasks.list, ...).';

/** What one message did to its task: the task, and the run it started (if any). */
export interface Turn {
  row: A2aTaskRow;
  root?: TaskRow;
  /** Settles when the tree this message started has ended. */
  done?: Promise<unknown>;
  /** The seq the started run's events follow (its first event is `after + 1`). */
  after?: number;
}

/**
 * How A2A messages act on apflow: loading an A2A task as the caller may see or change it, and
 * applying one message to its task (a new task, a tree to run, or another operation).
 */
export function createMessageTurns(
  app: PluginApp,
  store: A2aStore,
  push: PushService,
  options: { maxHistory: number },
) {
  async function load(id: string, call: CallInfo): Promise<{ row: A2aTaskRow; root: TaskRow | undefined }> {
    const row = id ? await store.getTask(id) : undefined;
    if (!row || !mayAccess(call.principal, row.user_id)) throw taskNotFound(id);
    return { row, root: row.root_task_id ? ((await app.tasks.get(row.root_task_id)) ?? undefined) : undefined };
  }

  /**
   * The task `id` as the caller may change it (send to, cancel, configure): an ownerless task (made
   * while authentication was off) is read-only to users other than administrators.
   */
  async function loadForChange(id: string, call: CallInfo): Promise<{ row: A2aTaskRow; root: TaskRow | undefined }> {
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

  /** Creates the tree, ties it to the task and starts it. */
  async function startTree(row: A2aTaskRow, tasks: unknown[], call: CallInfo): Promise<Turn> {
    const rootId = await createTree(app, tasks, call);
    row.root_task_id = rootId;
    row.state = STATE.submitted;
    row.status_message = null;
    row.updated_at = new Date().toISOString();
    await store.saveTask(row);
    const run = await app.engine.execute(rootId, { request: call.request });
    // Created a moment ago by this message: nothing else can have begun it.
    if (!run.started) throw new ApflowError('APF_CONFLICT', { message: `Task ${rootId} is already running` });
    push.watch(row, rootId);
    return { row, root: (await app.tasks.get(rootId)) ?? undefined, done: run.done, after: run.first_seq - 1 };
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
    let row: A2aTaskRow;
    let root: TaskRow | undefined;
    if (message.taskId) {
      ({ row, root } = await loadForChange(message.taskId, call));
      if (message.contextId && message.contextId !== row.context_id) {
        throw invalidParams(
          `message.contextId ${message.contextId} does not match task ${row.id} (context ${row.context_id})`,
        );
      }
      const state = stateOf(row, root);
      if (isTerminalState(state))
        throw unsupported(`task ${row.id} is ${stateName(state)}, and a terminal task takes no more messages`);
      if (intent.kind === 'method')
        throw unsupported('other operations (metadata.method) are asked in a message without a taskId');
    } else {
      row = {
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
    }
    // The history keeps the message, and the tree's secret inputs in it only sealed: sealed in
    // place, so the tree is created from the same sealed values (they open only for a run).
    if (intent.kind === 'tree') for (const task of intent.tasks) sealTaskInputs(task);
    remember(row, Message.toJSON({ ...message, taskId: row.id, contextId: row.context_id }) as WireJson);
    row.updated_at = now;
    if (!message.taskId) await store.insertTask(row);
    const pushConfig = request.configuration?.taskPushNotificationConfig;
    if (pushConfig?.url) await push.create(row, { ...pushConfig, taskId: row.id }, call, 0);

    if (intent.kind === 'tree') {
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
    return { row, root };
  }

  return { load, loadForChange, takeMessage };
}
