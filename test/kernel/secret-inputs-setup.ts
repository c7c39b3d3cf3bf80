/** Shared setup of the secret-inputs tests: an executor that echoes its secrets, an app over HTTP. */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { createApp, defineExecutor, Type, type ExecutorDefinition } from 'apflow';
import { eventually, memoryLog, rpc } from '../helpers.ts';

export const PASSWORD = 'hunter2-very-secret';
export const TOKEN = 'tok-abcdefgh-123456';
// Quotes, a backslash and a newline: escaped in the stored JSON, scrubbed all the same.
export const NEW_PASSWORD = 'another "secret"\\ 7788\n';

/** Echoes its secrets into its result and progress, as a careless executor would. */
export const careless = defineExecutor({
  id: 'careless',
  inputSchema: Type.Object({
    password: Type.String(),
    auth: Type.Object({ token: Type.String() }),
    note: Type.Optional(Type.String()),
  }),
  secretInputs: ['password', 'auth'],
  async execute(inputs, ctx) {
    ctx.progress(0.5, `logging in with ${inputs.password}`);
    return { echoed: `pw=${inputs.password} token=${inputs.auth.token}`, length: inputs.password.length };
  },
});

/** An app on `url` with the careless executor, listening; `call` makes a /tasks JSON-RPC call. */
export async function start(
  t: TestContext,
  url: string,
  extra: Record<string, unknown> = {},
  executors: ExecutorDefinition[] = [],
) {
  const log = memoryLog();
  const app = await createApp({
    env: {},
    logStream: log.stream,
    executors: [careless, ...executors],
    inline: {
      database: { url },
      executors: { dirs: [] },
      examples: { auto_init: false },
      log: { level: 'debug', requests: 'debug', format: 'json' },
      ...extra,
    },
  });
  t.after(() => app.close());
  const { url: base } = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = async (method: string, params: unknown) => {
    const answer = await rpc(base, '/tasks', { jsonrpc: '2.0', id: 1, method, params });
    assert.equal(answer.body?.error, undefined, `${method}: ${JSON.stringify(answer.body?.error)}`);
    return answer.body?.result as Record<string, unknown>;
  };
  return { app, log, call, base };
}

export type Call = Awaited<ReturnType<typeof start>>['call'];

/** Executes `taskId` and waits for it to end. */
export async function runToEnd(call: Call, taskId: string, options: Record<string, unknown> = {}) {
  await call('tasks.execute', { task_id: taskId, ...options });
  return eventually(async () => {
    const task = await call('tasks.get', { task_id: taskId });
    return ['completed', 'failed'].includes(task.status as string) && task;
  }, 15_000);
}

export const createCareless = (call: Call) =>
  call('tasks.create', {
    tasks: [{ name: 'careless', inputs: { password: PASSWORD, auth: { token: TOKEN }, note: 'plain words' } }],
  });
