import { randomUUID } from 'node:crypto';
import {
  Message,
  Role,
  type AgentCard,
  type SendMessageRequest,
  type StreamResponse,
  type Task,
  type TaskPushNotificationConfig,
} from '@a2a-js/sdk';
import { ExtendedAgentCardNotConfiguredError } from '@a2a-js/sdk/errors';
import { invalidParams, stateName, taskNotCancelable, taskNotFound, unsupported } from './errors.ts';
import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import { isAdmin, mayAccess, mayChange, type PluginApp, type TaskRow } from 'apflow';
import type { A2aStore, A2aTaskRow } from './a2a-store.ts';
import { callInfo, type CallInfo } from './call-context.ts';
import { readIntent } from './message-intent.ts';
import type { PushService } from './push-service.ts';
import { runOperation, createTree } from './tasks-api-calls.ts';
import { treeUpdates } from './task-updates.ts';
import { agentMessage, isTerminalState, stateOf, STATE, taskObject, type WireJson } from './task-view.ts';

const WAITING_FOR_TREE =
  'Send the task tree to run as a data part {"tasks": [...]} (each task: name, schemas.method, inputs, parent_id, dependencies), ' +
  'with this taskId to continue this task; or name another operation in metadata.method (tasks.get, tasks.list, ...).';

/** What one message did to its task: the task, and the run it started (if any). */
interface Turn {
  row: A2aTaskRow;
  root?: TaskRow;
  /** Settles when the tree this message started has ended. */
  done?: Promise<unknown>;
}

/**
 * apflow's A2A request handler: the SDK's transport handlers (v1.0 and v0.3) parse and answer
 * the wire; this maps each call onto apflow — A2A Tasks stored in `a2a_tasks`, each tied to the
 * task tree its messages sent, whose state, events and result it reports.
 */
export function createRequestHandler(
  app: PluginApp,
  store: A2aStore,
  push: PushService,
  options: { card: () => AgentCard; maxHistory: number },
): A2ARequestHandler {
  /** The task `id` as the caller may see it: unknown and other users' tasks are not found. */
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
    const { done } = await app.engine.execute(rootId, { request: call.request });
    push.watch(row, rootId);
    return { row, root: (await app.tasks.get(rootId)) ?? undefined, done };
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

  const asTask = (turn: Turn, historyLength?: number) => taskObject(turn.row, turn.root, { historyLength });

  return {
    getAgentCard: async () => options.card(),
    getAuthenticatedExtendedAgentCard: async () => {
      throw new ExtendedAgentCardNotConfiguredError('Authenticated Extended Card is not configured');
    },

    async sendMessage(request, context) {
      const call = callInfo(context);
      const turn = await takeMessage(request, call);
      if ('reply' in turn) return turn.reply;
      if (turn.done && !request.configuration?.returnImmediately) {
        await turn.done;
        turn.root = turn.row.root_task_id ? ((await app.tasks.get(turn.row.root_task_id)) ?? undefined) : undefined;
      }
      return asTask(turn, request.configuration?.historyLength);
    },

    async *sendMessageStream(request, context): AsyncGenerator<StreamResponse> {
      const call = callInfo(context);
      const turn = await takeMessage(request, call);
      if ('reply' in turn) {
        yield { payload: { $case: 'message', value: turn.reply } };
        return;
      }
      yield { payload: { $case: 'task', value: asTask(turn, request.configuration?.historyLength) } };
      if (turn.done && turn.row.root_task_id)
        for await (const update of treeUpdates(app, turn.row, turn.row.root_task_id, 0)) yield update.response;
    },

    async getTask(request, context): Promise<Task> {
      const { row, root } = await load(request.id, callInfo(context));
      return taskObject(row, root, { historyLength: request.historyLength });
    },

    async listTasks(request, context) {
      return listTasks(app, store, request, callInfo(context));
    },

    async cancelTask(request, context): Promise<Task> {
      const call = callInfo(context);
      const loaded = await loadForChange(request.id, call);
      const row = loaded.row;
      let root = loaded.root;
      const state = stateOf(row, root);
      if (isTerminalState(state)) throw taskNotCancelable(row.id, state);
      if (root) {
        await app.engine.cancel([root.id], 'Cancelled by the A2A client');
        root = (await app.tasks.get(root.id)) ?? undefined;
      } else {
        row.state = STATE.canceled;
        row.status_message = agentMessage(row, [{ text: 'Canceled by the client before a task tree was sent' }]);
        row.updated_at = new Date().toISOString();
        await store.saveTask(row);
      }
      return taskObject(row, root);
    },

    async *resubscribe(request, context): AsyncGenerator<StreamResponse> {
      const call = callInfo(context);
      const { row, root } = await load(request.id, call);
      const state = stateOf(row, root);
      if (isTerminalState(state) && call.version === '1.0') {
        throw unsupported(`task ${row.id} is ${stateName(state)}, so there is nothing more to subscribe to`);
      }
      yield { payload: { $case: 'task', value: taskObject(row, root) } };
      if (root && !isTerminalState(state))
        for await (const update of treeUpdates(app, row, root.id, root.event_seq)) yield update.response;
    },

    async createTaskPushNotificationConfig(config: TaskPushNotificationConfig, context) {
      const call = callInfo(context);
      const { row, root } = await loadForChange(config.taskId, call);
      const created = await push.create(row, config, call, root?.event_seq ?? 0);
      if (root && !isTerminalState(stateOf(row, root))) push.watch(row, root.id);
      return created;
    },
    async getTaskPushNotificationConfig(request, context) {
      const { row } = await load(request.taskId, callInfo(context));
      return push.get(row, request.id);
    },
    async listTaskPushNotificationConfigs(request, context) {
      const { row } = await load(request.taskId, callInfo(context));
      return { configs: await push.list(row), nextPageToken: '' };
    },
    async deleteTaskPushNotificationConfig(request, context) {
      const { row } = await loadForChange(request.taskId, callInfo(context));
      await push.remove(row, request.id);
    },
  };
}

/** ListTasks (v1.0): the caller's tasks (everyone's for administrators), newest first, by pages. */
async function listTasks(
  app: PluginApp,
  store: A2aStore,
  request: Parameters<A2ARequestHandler['listTasks']>[0],
  call: CallInfo,
) {
  const principal = call.principal;
  const userId = principal && !isAdmin(principal) ? principal.user_id : undefined;
  const pageSize = Math.min(Math.max(request.pageSize ?? 50, 1), 100);
  const offset = request.pageToken ? Number(Buffer.from(request.pageToken, 'base64url').toString()) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw invalidParams('pageToken is not one this server gave');
  const query = {
    ...(userId === undefined ? {} : { userId }),
    ...(request.contextId ? { contextId: request.contextId } : {}),
  };
  const filtered = request.status !== 0 || request.statusTimestampAfter !== undefined;
  // Status and time filters apply to the tree's live state, so they are applied to what is read.
  const rows = filtered
    ? await store.listTasks({ ...query, limit: 10_000, offset: 0 })
    : await store.listTasks({ ...query, limit: pageSize, offset });
  const roots = new Map(
    (await app.tasks.getMany(rows.flatMap((row) => (row.root_task_id ? [row.root_task_id] : [])))).map((root) => [
      root.id,
      root,
    ]),
  );
  let tasks = rows.map((row) =>
    taskObject(row, row.root_task_id ? roots.get(row.root_task_id) : undefined, {
      historyLength: request.historyLength,
      includeArtifacts: request.includeArtifacts ?? false,
    }),
  );
  let total: number;
  if (filtered) {
    const after = request.statusTimestampAfter ? Date.parse(request.statusTimestampAfter) : undefined;
    tasks = tasks.filter(
      (task) =>
        (request.status === 0 || task.status?.state === request.status) &&
        (after === undefined || Date.parse(task.status?.timestamp ?? '') > after),
    );
    total = tasks.length;
    tasks = tasks.slice(offset, offset + pageSize);
  } else {
    total = await store.countTasks(query);
  }
  const next = offset + tasks.length;
  return {
    tasks,
    nextPageToken: next < total ? Buffer.from(String(next)).toString('base64url') : '',
    pageSize,
    totalSize: total,
  };
}
