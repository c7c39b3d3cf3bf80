import { randomUUID } from 'node:crypto';
import { Message, Task, type TaskStatusUpdateEvent, type TaskArtifactUpdateEvent } from '@a2a-js/sdk';
import type { TaskEvent, TaskRow } from 'apflow';
import type { A2aTaskRow } from './a2a-store.ts';
import { questionParts, type Question } from './questions.ts';

/** v1.0 wire JSON (ProtoJSON): what is stored, and what the SDK's `fromJSON` reads. */
export type WireJson = Record<string, unknown>;

/** A2A task states (v1.0 names); the SDK turns them into v0.3's lowercase names where asked. */
export const STATE = {
  submitted: 'TASK_STATE_SUBMITTED',
  working: 'TASK_STATE_WORKING',
  completed: 'TASK_STATE_COMPLETED',
  failed: 'TASK_STATE_FAILED',
  canceled: 'TASK_STATE_CANCELED',
  inputRequired: 'TASK_STATE_INPUT_REQUIRED',
} as const;

const TERMINAL = new Set<string>([STATE.completed, STATE.failed, STATE.canceled, 'TASK_STATE_REJECTED']);

/** Whether `state` (a v1.0 name) is terminal: no message may change the task any more. */
export const isTerminalState = (state: string) => TERMINAL.has(state);

/** The A2A state of an apflow tree, from its root task. */
export function treeState(root: TaskRow): string {
  switch (root.status) {
    case 'completed':
      return STATE.completed;
    case 'failed':
      return STATE.failed;
    case 'cancelled':
      return STATE.canceled;
    case 'in_progress':
      return STATE.working;
    default:
      // The root waits for its children: the tree is working once a server runs it.
      return root.run_state === 'running' ? STATE.working : STATE.submitted;
  }
}

/**
 * The state of an A2A task: its tree's, once it has one; `input-required` while a task of the
 * tree waits for an answer (`questions`: those open now, see questions.ts).
 */
export function stateOf(row: A2aTaskRow, root: TaskRow | undefined, questions: readonly Question[] = []): string {
  if (!root) return row.state;
  const state = treeState(root);
  return questions.length > 0 && !isTerminalState(state) ? STATE.inputRequired : state;
}

/** An agent message of the task, as wire JSON. */
export function agentMessage(row: Pick<A2aTaskRow, 'id' | 'context_id'>, parts: WireJson[]): WireJson {
  return { messageId: randomUUID(), role: 'ROLE_AGENT', taskId: row.id, contextId: row.context_id, parts };
}

/** What the tree's root says about the run, as a data part. */
function runSummary(root: TaskRow): WireJson {
  const data: WireJson = { protocol: 'a2a', root_task_id: root.id, status: root.status, progress: root.progress };
  if (root.error) data.error = root.error;
  return { data };
}

/** The artifact carrying the tree's result (once the root completed). */
export function resultArtifact(root: TaskRow): WireJson {
  return {
    artifactId: `${root.id}-result`,
    name: 'result',
    description: 'The result of the task tree (its root task)',
    parts: [{ data: { root_task_id: root.id, status: root.status, result: root.result ?? null } }],
  };
}

/**
 * The A2A Task for `row` (v1.0 wire JSON): state, status message and timestamp from the tree
 * when it has one (the open `questions` of its tasks in the message while it waits for input),
 * the result artifact once it completed, the last `historyLength` messages.
 */
export function taskJson(
  row: A2aTaskRow,
  root: TaskRow | undefined,
  options: { historyLength?: number; includeArtifacts?: boolean; questions?: readonly Question[] } = {},
): WireJson {
  const questions = options.questions ?? [];
  const state = stateOf(row, root, questions);
  const status: WireJson = {
    state,
    timestamp: root ? (root.completed_at ?? root.updated_at ?? row.updated_at) : row.updated_at,
  };
  if (root && isTerminalState(state)) status.message = agentMessage(row, [runSummary(root)]);
  else if (root && state === STATE.inputRequired) status.message = agentMessage(row, questionParts(questions));
  else if (!root && row.status_message) status.message = row.status_message;
  const history =
    options.historyLength === undefined
      ? row.history
      : options.historyLength <= 0
        ? []
        : row.history.slice(-options.historyLength);
  const json: WireJson = { id: row.id, contextId: row.context_id, status, history };
  if (root?.status === 'completed' && options.includeArtifacts !== false) json.artifacts = [resultArtifact(root)];
  json.metadata = { ...(row.metadata ?? {}), ...(root ? { root_task_id: root.id } : {}) };
  return json;
}

/** {@link taskJson} as the SDK's object. */
export const taskObject = (
  row: A2aTaskRow,
  root: TaskRow | undefined,
  options?: Parameters<typeof taskJson>[2],
): Task => Task.fromJSON(taskJson(row, root, options));

/**
 * A status update for one event of the task's tree: the event itself as a data part, after the
 * open `questions` (text and data parts, as in the Task's status message) while it waits for input.
 */
export function statusUpdate(
  row: A2aTaskRow,
  state: string,
  event: TaskEvent,
  questions: readonly Question[] = [],
): TaskStatusUpdateEvent {
  const data: WireJson = {
    protocol: 'a2a',
    type: event.type,
    task_id: event.task_id,
    root_task_id: event.root_task_id,
    status: event.status,
    progress: event.progress,
    seq: event.seq,
  };
  if (event.message !== undefined) data.message = event.message;
  if (event.error !== undefined) data.error = event.error;
  if (event.waiting !== undefined) data.waiting = event.waiting;
  return {
    taskId: row.id,
    contextId: row.context_id,
    status: {
      state: Task.fromJSON({ status: { state } }).status?.state ?? 0,
      message: Message.fromJSON(agentMessage(row, [...(questions.length ? questionParts(questions) : []), { data }])),
      timestamp: event.timestamp,
    },
    metadata: undefined,
  };
}

/** The artifact update carrying the tree's result. */
export function artifactUpdate(row: A2aTaskRow, root: TaskRow): TaskArtifactUpdateEvent {
  const artifact = Task.fromJSON({ artifacts: [resultArtifact(root)] }).artifacts[0];
  return { taskId: row.id, contextId: row.context_id, artifact, append: false, lastChunk: true, metadata: undefined };
}
