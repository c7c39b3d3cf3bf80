import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createApp, defineExecutor } from 'apflow';
import { testDatabases } from '../databases.ts';
import { rpc } from '../helpers.ts';
import { careless, PASSWORD, runToEnd, start, TOKEN } from './secret-inputs-setup.ts';

const SEALED = /^apflow-sealed:v1:/;
const MADE = 'made-by-a-dependency-42';

/** Hands a password to the task that depends on it. */
const producer = defineExecutor({ id: 'producer', execute: () => ({ password: MADE, auth: { token: TOKEN } }) });

test('secret inputs are sealed on every way in: an A2A message (and its history), a dependency result, an update that picks the executor', async (t) => {
  const url = await testDatabases()[0]!.create(t);
  const { call, base, app } = await start(t, url, {}, [producer]);

  // A2A: the tree in a message; the message is kept in the A2A task's history.
  const task = { name: 'careless', inputs: { password: PASSWORD, auth: { token: TOKEN } } };
  const message = {
    kind: 'message',
    messageId: 'm-1',
    role: 'user',
    parts: [{ kind: 'data', data: { tasks: [task] } }],
  };
  const sent = await rpc(base, '/', { jsonrpc: '2.0', id: 1, method: 'message/send', params: { message } });
  const a2aTask = sent.body?.result as {
    id: string;
    history: { parts: { data?: { tasks: { inputs: { password: string } }[] } }[] }[];
  };
  assert.ok(a2aTask?.id, JSON.stringify(sent.body));
  const kept = a2aTask.history[0]?.parts[0]?.data?.tasks[0]?.inputs.password;
  assert.match(String(kept), SEALED);

  // A dependency's result merged onto a secret input (input_schema names it).
  const tree = await call('tasks.create', {
    tasks: [
      {
        id: 'uses',
        name: 'careless',
        dependencies: [{ id: 'made', required: true }],
        schemas: { input_schema: { properties: { password: {}, auth: {} } } },
        inputs: { password: 'placeholder-value', auth: { token: 'placeholder-token' } },
      },
      { id: 'made', name: 'producer', parent_id: 'uses' },
    ],
  });
  const done = await runToEnd(call, tree.id as string);
  assert.equal(done.status, 'completed', String(done.error));
  const uses = await call('tasks.get', { task_id: 'uses' });
  assert.match((uses.inputs as { password: string }).password, SEALED);
  assert.deepEqual(uses.result, { echoed: 'pw=*** token=***', length: MADE.length });

  // Created before its executor is picked, then pointed at it: sealed by the update.
  const later = await call('tasks.create', {
    tasks: [{ name: 'later', inputs: { password: PASSWORD, auth: { token: TOKEN } } }],
  });
  assert.equal((later.inputs as { password: string }).password, PASSWORD);
  await call('tasks.update', { task_id: later.id, params: { executor_id: 'careless' } });
  const picked = await call('tasks.get', { task_id: later.id });
  assert.match((picked.inputs as { password: string }).password, SEALED);
  await app.close();

  // Only the producer's own result (not a secret input) may hold what it made.
  const stored = readFileSync(url.slice('sqlite:'.length)).toString('latin1') + readWal(url);
  assert.ok(!stored.includes(PASSWORD), 'the database holds the password');
});

test('an executor whose secretInputs is not a list of dotted paths is refused when it loads', async () => {
  const broken = { ...careless, id: 'broken', secretInputs: 'password' as unknown as string[] };
  await assert.rejects(
    createApp({
      env: {},
      executors: [broken],
      inline: { database: { url: 'sqlite::memory:' }, executors: { dirs: [] } },
    }),
    /'secretInputs' must be an array of dotted input paths/,
  );
});

function readWal(url: string): string {
  try {
    return readFileSync(`${url.slice('sqlite:'.length)}-wal`).toString('latin1');
  } catch {
    return '';
  }
}
