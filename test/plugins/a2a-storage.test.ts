import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp, type App } from 'apflow';
import { testDatabases } from '../databases.ts';
import { eventually, httpReceiver, memoryLog, repoRoot, tempProject, testApp } from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');
const SECRETS_KEY = 'a-test-key-of-at-least-thirty-two-characters';

/** A v1.0 JSON-RPC call to POST / (raw HTTP: what any A2A client sends). */
async function a2a(url: string, method: string, params: Record<string, unknown>, version = '1.0') {
  const response = await fetch(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'a2a-version': version },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  assert.equal(response.status, 200);
  return (await response.json()) as {
    result?: Record<string, unknown> & { task?: Record<string, unknown> };
    error?: { code: number; message: string };
  };
}

const treeMessage = (tasks: unknown[], extra: Record<string, unknown> = {}) => ({
  message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ data: { tasks } }], ...extra },
});

for (const db of testDatabases()) {
  test(`${db.name}: A2A tasks, push configs and their sealed secrets survive a restart; pushes resume for the tree the restart handed back, delivered once by one of two servers`, async (t) => {
    const database = { url: await db.create(t) };
    // A slow endpoint: two servers delivering the same updates would both be in the middle of it.
    const receiver = await httpReceiver(t, () => 200, 400);
    const start = () =>
      createApp({
        env: {},
        logStream: memoryLog().stream,
        // No grace on stop: the running tree is handed back at once, mid-run, with its pushes.
        inline: {
          database,
          server: { shutdown_timeout_s: 0 },
          executors: { dirs: [fixtures] },
          examples: { auto_init: false },
          log: { level: 'warn' },
          a2a: { secrets_key: SECRETS_KEY, push: { allow_hosts: ['127.0.0.1'], retry_base_s: 0.05 } },
        },
      });
    let app: App = await start();
    t.after(() => app.close());
    let { url } = await app.listen({ host: '127.0.0.1', port: 0 });

    const done = await a2a(
      url,
      'SendMessage',
      treeMessage([{ name: 'root', schemas: { method: 'echo' }, inputs: { said: 'hi' } }]),
    );
    const finished = done.result?.task as {
      id: string;
      status: { state: string };
      artifacts: { parts: { data: { result: unknown } }[] }[];
    };
    assert.equal(finished.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual((finished.artifacts[0]?.parts[0]?.data.result as { said?: string }).said, 'hi');

    const running = await a2a(url, 'SendMessage', {
      ...treeMessage([{ name: 'slow', schemas: { method: 'sleep' }, inputs: { ms: 1500 } }]),
      configuration: { returnImmediately: true },
    });
    const task = running.result?.task as { id: string };
    const created = await a2a(url, 'CreateTaskPushNotificationConfig', {
      taskId: task.id,
      url: receiver.url,
      token: 'tok-plain-1',
      authentication: { scheme: 'Bearer', credentials: 'cred-plain-2' },
    });
    assert.equal(created.result?.token, '***', 'secrets are never answered back');
    const stored = JSON.stringify(await app.storage.sql.select('SELECT * FROM a2a_push_configs'));
    assert.doesNotMatch(stored, /tok-plain-1|cred-plain-2/, 'secrets are sealed in the database');

    // The first server delivers this task's pushes (it holds their lease) when it stops.
    const pushOwner = async () =>
      (await app.storage.sql.select('SELECT push_owner FROM a2a_tasks WHERE id = ?', [task.id]))[0]?.push_owner;
    const firstOwner = await eventually(pushOwner, 10_000);
    // A graceful stop hands the running tree back; the next start resumes it, and its pushes.
    await app.close();
    app = await start();
    assert.notEqual(await pushOwner(), firstOwner, 'a stopping server gives its push leases up');
    // A second server on the same database looks for the same deliveries: one of them delivers.
    const second = await start();
    t.after(() => second.close());
    ({ url } = await app.listen({ host: '127.0.0.1', port: 0 }));
    const again = await a2a(url, 'GetTask', { id: finished.id, historyLength: 1 });
    assert.equal((again.result?.status as { state: string }).state, 'TASK_STATE_COMPLETED');
    assert.equal((again.result?.history as unknown[]).length, 1);
    assert.ok(
      !receiver
        .delivered()
        .some(
          (body) =>
            (body.statusUpdate as { status?: { state?: string } } | undefined)?.status?.state ===
            'TASK_STATE_COMPLETED',
        ),
      'the first server stopped mid-run',
    );
    // Generous: the resumed run and its push come after two server starts, on a machine whose
    // two cores the test runner shares with another heavy test file (a CI run timed out at 15 s).
    const last = await eventually(
      () =>
        receiver
          .delivered()
          .find(
            (body) =>
              (body.statusUpdate as { status?: { state?: string } } | undefined)?.status?.state ===
              'TASK_STATE_COMPLETED',
          ),
      30_000,
    );
    assert.equal((last.statusUpdate as { taskId: string }).taskId, task.id);
    const hit = receiver.hits.at(-1);
    assert.equal(hit?.headers.authorization, 'Bearer cred-plain-2', 'credentials opened after the restart');
    assert.equal(hit?.headers['x-a2a-notification-token'], 'tok-plain-1');
    assert.equal(hit?.headers['content-type'], 'application/a2a+json');
    await eventually(
      async () =>
        (
          await app.storage.sql.select(
            'SELECT 1 FROM a2a_push_configs p JOIN a2a_tasks a ON a.id = p.task_id JOIN apflow_tasks t ON t.id = a.root_task_id WHERE p.delivered_seq < t.event_seq',
          )
        ).length === 0,
      15_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const completions = receiver
      .delivered()
      .filter(
        (body) =>
          (body.statusUpdate as { status?: { state?: string } } | undefined)?.status?.state === 'TASK_STATE_COMPLETED',
      );
    assert.equal(completions.length, 1, 'the completion was pushed once, not once per server');
  });

  test(`${db.name}: ListTasks pages newest first, filters by state and context, and hides other users' tasks`, async (t) => {
    const dir = tempProject(t, {
      'who.ts': `import { definePlugin } from 'apflow';
export default definePlugin({ name: 'who', setup(app) { app.hooks.auth.tapPromise('who', async (req) => { const user = req.headers['x-user']; return typeof user === 'string' ? { user_id: user, roles: user === 'root' ? ['admin'] : [] } : undefined; }); } });`,
    });
    const app = await testApp(t, {
      database: { url: await db.create(t) },
      executors: { dirs: [fixtures] },
      plugins: [join(dir, 'who.ts')],
    });
    const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
    const call = async (user: string, method: string, params: Record<string, unknown>) => {
      const response = await fetch(`${url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'a2a-version': '1.0', 'x-user': user },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      });
      return (await response.json()) as { result: Record<string, unknown>; error?: { code: number } };
    };
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const sent = await call(
        'ann',
        'SendMessage',
        i % 2
          ? treeMessage([{ name: `t${i}`, schemas: { method: 'noop' } }], { contextId: 'ctx-odd' })
          : { message: { messageId: `m${i}`, role: 'ROLE_USER', parts: [{ text: 'hello' }] } },
      );
      ids.push((sent.result.task as { id: string }).id);
    }
    await call('bob', 'SendMessage', {
      message: { messageId: 'b1', role: 'ROLE_USER', parts: [{ text: 'bob here' }] },
    });

    const page1 = (await call('ann', 'ListTasks', { pageSize: 2 })).result;
    assert.deepEqual(
      (page1.tasks as { id: string }[]).map((task) => task.id),
      [ids[4], ids[3]],
      'newest first',
    );
    assert.equal(page1.totalSize, 5, "bob's task is not listed for ann");
    const page3 = (
      await call('ann', 'ListTasks', {
        pageSize: 2,
        pageToken: (await call('ann', 'ListTasks', { pageSize: 2, pageToken: page1.nextPageToken })).result
          .nextPageToken,
      })
    ).result;
    assert.deepEqual(
      (page3.tasks as { id: string }[]).map((task) => task.id),
      [ids[0]],
    );
    assert.equal(page3.nextPageToken, '', 'the last page says so');
    const waiting = (await call('ann', 'ListTasks', { status: 'TASK_STATE_INPUT_REQUIRED' })).result;
    assert.deepEqual(
      (waiting.tasks as { id: string }[]).map((task) => task.id),
      [ids[4], ids[2], ids[0]],
    );
    const odd = (await call('ann', 'ListTasks', { contextId: 'ctx-odd' })).result;
    assert.deepEqual(
      (odd.tasks as { status: { state: string } }[]).map((task) => task.status.state),
      ['TASK_STATE_COMPLETED', 'TASK_STATE_COMPLETED'],
    );
    assert.equal((await call('root', 'ListTasks', {})).result.totalSize, 6, 'an administrator sees every task');
    assert.equal(
      (await call('bob', 'GetTask', { id: ids[0] })).error?.code,
      -32001,
      "another user's task is not found",
    );
  });
}

test('with auth on, the agent card declares the bearer scheme in both shapes', async (t) => {
  const dir = tempProject(t, {
    'allow.ts': `import { definePlugin } from 'apflow';
export default definePlugin({ name: 'allow', setup(app) { app.hooks.auth.tapPromise('allow', async () => ({ user_id: 'u', roles: [] })); } });`,
  });
  const app = await testApp(t, {
    auth: { enabled: true },
    disabled_plugins: ['jwt-auth'],
    plugins: [join(dir, 'allow.ts')],
  });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  const v1 = (await (
    await fetch(`${url}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })
  ).json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(v1.securitySchemes as object), ['bearer']);
  assert.equal(
    (v1.securitySchemes as Record<string, { httpAuthSecurityScheme: { scheme: string } }>).bearer
      ?.httpAuthSecurityScheme.scheme,
    'Bearer',
  );
  assert.deepEqual(v1.securityRequirements, [{ schemes: { bearer: {} } }]);
  const v03 = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as Record<string, unknown>;
  assert.deepEqual(v03.securitySchemes, { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } });
  assert.deepEqual(v03.security, [{ bearer: [] }]);
  const open = await testApp(t);
  const { url: openUrl } = await open.listen({ host: '127.0.0.1', port: 0 });
  assert.equal(
    ((await (await fetch(`${openUrl}/.well-known/agent-card.json`)).json()) as Record<string, unknown>).securitySchemes,
    undefined,
    'no scheme when auth is off',
  );
});
