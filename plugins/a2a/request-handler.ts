import { type AgentCard, type StreamResponse, type Task, type TaskPushNotificationConfig } from '@a2a-js/sdk';
import { ExtendedAgentCardNotConfiguredError } from '@a2a-js/sdk/errors';
import { invalidParams, stateName, taskNotCancelable, unsupported } from './errors.ts';
import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import { isAdmin, type PluginApp } from 'apflow';
import type { A2aStore } from './a2a-store.ts';
import { callInfo, type CallInfo } from './call-context.ts';
import { createMessageTurns, type Loaded } from './message-turns.ts';
import { openQuestions, readTree } from './questions.ts';
import { retriedTask, sendOnce } from './send-once.ts';
import type { PushService } from './push-service.ts';
import { treeUpdates, untilInterrupted } from './task-updates.ts';
import { agentMessage, isTerminalState, stateOf, STATE, taskObject } from './task-view.ts';

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
  const { load, loadForChange, takeMessage } = createMessageTurns(app, store, push, options);
  const asTask = (loaded: Loaded, historyLength?: number) =>
    taskObject(loaded.row, loaded.root, { historyLength, questions: loaded.questions });

  return {
    getAgentCard: async () => options.card(),
    getAuthenticatedExtendedAgentCard: async () => {
      throw new ExtendedAgentCardNotConfiguredError('Authenticated Extended Card is not configured');
    },

    async sendMessage(request, context) {
      const call = callInfo(context);
      // A retry (the same messageId and message from the same caller) starts nothing new.
      const sent = await sendOnce(app, request, call, () => takeMessage(request, call));
      if ('reply' in sent) return sent.reply;
      const blocking = !request.configuration?.returnImmediately;
      const historyLength = request.configuration?.historyLength;
      if ('taskId' in sent) return retriedTask(app, await load(sent.taskId, call), { blocking, historyLength });
      const turn = sent.turn;
      const state = stateOf(turn.row, turn.root, turn.questions);
      if (!turn.run || !blocking || !turn.row.root_task_id || state === STATE.inputRequired || isTerminalState(state))
        return asTask(turn, historyLength);
      // Until the tree ends or a task of it asks (A2A's terminal and interrupted states).
      const rootId = turn.row.root_task_id;
      await untilInterrupted(treeUpdates(app, turn.row, rootId, turn.run.after, { questions: turn.run.questions }));
      return asTask({ row: turn.row, ...(await readTree(app, rootId)) }, historyLength);
    },

    async *sendMessageStream(request, context): AsyncGenerator<StreamResponse> {
      const call = callInfo(context);
      const turn = await takeMessage(request, call);
      if ('reply' in turn) {
        yield { payload: { $case: 'message', value: turn.reply } };
        return;
      }
      yield { payload: { $case: 'task', value: asTask(turn, request.configuration?.historyLength) } };
      const { run, row } = turn;
      if (run && row.root_task_id)
        for await (const update of treeUpdates(app, row, row.root_task_id, run.after, { questions: run.questions }))
          yield update.response;
    },

    async getTask(request, context): Promise<Task> {
      return asTask(await load(request.id, callInfo(context)), request.historyLength);
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
      const loaded = await load(request.id, call);
      const { row, root, questions } = loaded;
      const state = stateOf(row, root, questions);
      if (isTerminalState(state) && call.version === '1.0') {
        throw unsupported(`task ${row.id} is ${stateName(state)}, so there is nothing more to subscribe to`);
      }
      yield { payload: { $case: 'task', value: asTask(loaded) } };
      if (root && !isTerminalState(state))
        for await (const update of treeUpdates(app, row, root.id, root.event_seq, { questions })) yield update.response;
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
  let tasks = await Promise.all(
    rows.map(async (row) => {
      const root = row.root_task_id ? roots.get(row.root_task_id) : undefined;
      return taskObject(row, root, {
        historyLength: request.historyLength,
        includeArtifacts: request.includeArtifacts ?? false,
        questions: await openQuestions(app, root),
      });
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
