/** Shared setup of the A2A tests with the official SDK clients (v1.0 native, v0.3 compat): clients that record the wire, requests, and stream checks. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { AgentCard, SendMessageRequest, TaskState, type Message, type StreamResponse, type Task } from '@a2a-js/sdk';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { repoRoot, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** The two kinds of official client: native v1.0, and v0.3 through the SDK's compat layer. */
export const KINDS = ['1.0', '0.3'] as const;
type Kind = (typeof KINDS)[number];

/** What each kind must say on the wire for the calls the tests make. */
export const WIRE_NAMES: Record<Kind, Record<string, string>> = {
  '1.0': {
    send: 'SendMessage',
    stream: 'SendStreamingMessage',
    get: 'GetTask',
    cancel: 'CancelTask',
    subscribe: 'SubscribeToTask',
    pushSet: 'CreateTaskPushNotificationConfig',
  },
  '0.3': {
    send: 'message/send',
    stream: 'message/stream',
    get: 'tasks/get',
    cancel: 'tasks/cancel',
    subscribe: 'tasks/resubscribe',
    pushSet: 'tasks/pushNotificationConfig/set',
  },
};

interface WireCall {
  method: string;
  version: string | null;
}

/** A listening app with the fixture executors. */
export async function a2aApp(t: TestContext, inline: Record<string, unknown> = {}) {
  const app = await testApp(t, { executors: { dirs: [fixtures] }, ...inline });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/**
 * A client of `kind` for the server at `url`, and the JSON-RPC calls it made (method and
 * A2A-Version header, read off the wire).
 */
export async function clientOf(kind: Kind, url: string): Promise<{ client: Client; wire: WireCall[] }> {
  const wire: WireCall[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    if (init?.method === 'POST' && typeof init.body === 'string') {
      const headers = new Headers(init.headers);
      wire.push({ method: (JSON.parse(init.body) as { method: string }).method, version: headers.get('a2a-version') });
    }
    return fetch(input, init);
  };
  if (kind === '1.0') {
    const client = await new ClientFactory({ transports: [new JsonRpcTransportFactory({ fetchImpl })] }).createFromUrl(
      url,
    );
    return { client, wire };
  }
  // A pure v0.3 card: what the server serves without A2A-Version, less v1.0's supportedInterfaces.
  const response = await fetch(`${url}/.well-known/agent-card.json`);
  assert.equal(response.status, 200);
  const card = (await response.json()) as Record<string, unknown>;
  delete card.supportedInterfaces;
  const legacyCompat = { enabled: true };
  const client = await new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl, legacyCompat })],
    cardResolver: new DefaultAgentCardResolver({ legacyCompat }),
  }).createFromAgentCard(card as unknown as AgentCard);
  return { client, wire };
}

/** A user message: a data part holding `data`, or a text part. */
export function request(
  content: { data?: Record<string, unknown>; text?: string },
  extra: {
    taskId?: string;
    contextId?: string;
    metadata?: Record<string, unknown>;
    configuration?: Record<string, unknown>;
  } = {},
): SendMessageRequest {
  const part = content.data ? { data: content.data } : { text: content.text ?? 'hello' };
  return SendMessageRequest.fromJSON({
    message: {
      messageId: randomUUID(),
      role: 'ROLE_USER',
      parts: [part],
      taskId: extra.taskId,
      contextId: extra.contextId,
      metadata: extra.metadata,
    },
    configuration: extra.configuration,
  });
}

/** A user message asking to run the tree `tasks`. */
export const treeRequest = (tasks: Record<string, unknown>[], extra: Parameters<typeof request>[1] = {}) =>
  request({ data: { tasks } }, extra);

/** The result, which must be a Task (not a Message). */
export function asTask(result: Task | Message): Task {
  assert.ok(!('messageId' in result), `expected a Task, got a Message: ${JSON.stringify(result)}`);
  return result;
}

/** The JSON-RPC error code of a failed client call (typed errors carry envelopeCode; SSE errors only say it). */
function codeOf(error: unknown): number | undefined {
  const envelope = (error as { envelopeCode?: number }).envelopeCode;
  if (typeof envelope === 'number') return envelope;
  const said = /Code: (-?\d+)/.exec(String((error as Error).message))?.[1];
  return said === undefined ? undefined : Number(said);
}

/** Asserts the call fails with JSON-RPC error `code` (and a message matching `pattern`). */
export async function rejectsWith(
  call: Promise<unknown> | (() => Promise<unknown>),
  code: number,
  pattern?: RegExp,
): Promise<void> {
  await assert.rejects(typeof call === 'function' ? call() : call, (error: unknown) => {
    assert.equal(codeOf(error), code, `error code of ${String(error)}`);
    if (pattern) assert.match((error as Error).message, pattern);
    return true;
  });
}

/** Every event of a stream, once it ends. */
export async function collect(stream: AsyncIterable<StreamResponse>): Promise<StreamResponse[]> {
  const events: StreamResponse[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** The data of a part (`{data}` in v1.0, `{kind:'data'}` in v0.3, both read as the SDK object). */
export function dataOf(
  parts: { content?: { $case: string; value?: unknown } }[] | undefined,
  index = 0,
): Record<string, unknown> {
  const content = parts?.[index]?.content;
  assert.equal(content?.$case, 'data', `part ${index} is a data part`);
  return content?.value as Record<string, unknown>;
}

/** Checks the shape of a tree's stream: the Task, working updates, the artifact, the terminal update. */
export function assertTreeStream(
  events: StreamResponse[],
  taskId: string,
  result: Record<string, unknown>,
  options: { firstTask?: boolean } = {},
) {
  const kinds = events.map((event) => event.payload?.$case);
  if (options.firstTask !== false) assert.equal(kinds[0], 'task', `first event is the Task: ${kinds.join(',')}`);
  assert.equal(kinds.at(-1), 'statusUpdate', `last event is a status update: ${kinds.join(',')}`);
  assert.equal(kinds.at(-2), 'artifactUpdate', `the artifact comes right before the final update: ${kinds.join(',')}`);
  assert.equal(kinds.filter((kind) => kind === 'artifactUpdate').length, 1);
  const middle = events.slice(options.firstTask === false ? 0 : 1, -2);
  assert.ok(middle.length > 0, 'at least one working update');
  const seqs: number[] = [];
  for (const event of middle) {
    assert.equal(event.payload?.$case, 'statusUpdate');
    const update = event.payload.value;
    assert.equal(update.taskId, taskId);
    assert.equal(update.status?.state, TaskState.TASK_STATE_WORKING);
    seqs.push(Number(dataOf(update.status?.message?.parts).seq));
  }
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'working updates in event order',
  );
  const last = events.at(-1)?.payload;
  assert.equal(last?.$case, 'statusUpdate');
  assert.equal(last.value.taskId, taskId);
  assert.equal(last.value.status?.state, TaskState.TASK_STATE_COMPLETED);
  const artifact = events.at(-2)?.payload;
  assert.equal(artifact?.$case, 'artifactUpdate');
  assert.equal(artifact.value.taskId, taskId);
  assert.deepEqual(dataOf(artifact.value.artifact?.parts), result);
}
