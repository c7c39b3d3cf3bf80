import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { eventually, memoryLog, started } from '../helpers.ts';
import { completed, failed, runOne, runTree, type Json } from './builtin-executors-setup.ts';
import {
  callTask,
  holding,
  remoteCancelled,
  progressMessages,
  remoteCount,
  remoteTree,
  twoServers,
} from './builtin-executors-apflow-api-setup.ts';
import { now, sign } from './jwt-auth-setup.ts';

interface RemoteResult {
  success: boolean;
  base_url: string;
  method: string;
  remote_task_id: string;
  remote_root_task_id: string;
  status: string;
  progress: number;
  result?: Json;
  counts?: Json;
}

describe('apflow_api_executor', () => {
  test('streams a remote tree to its end: the remote root result, its progress on the local stream', async (t) => {
    const servers = await twoServers(t);
    const { local, remote, remoteUrl, token } = servers;
    const { tree, rows } = await runTree(
      local,
      callTask({ base_url: remoteUrl, auth_token: token, params: { tasks: remoteTree() } }),
    );
    const result = completed<RemoteResult>(rows[0] as (typeof rows)[number]);
    assert.equal(result.success, true);
    assert.equal(result.status, 'completed');
    assert.equal(result.method, 'tasks.execute');
    assert.equal(result.base_url, remoteUrl);
    const remoteRoot = await remote.tasks.get(result.remote_root_task_id);
    assert.equal(remoteRoot?.status, 'completed');
    assert.equal(remoteRoot?.user_id, 'alice', 'the tree belongs to the token’s user');
    assert.deepEqual(result.result, remoteRoot?.result);
    assert.equal(result.remote_task_id, result.remote_root_task_id);
    assert.deepEqual(Object.keys((result.result?.results as Json) ?? {}).length, 2);
    assert.equal((result.counts as { total: number }).total, 3);

    const { url } = await local.listen({ host: '127.0.0.1', port: 0 });
    const text = await (await fetch(`${url}/tasks/${tree.id}/events`)).text();
    const messages = text
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as Json)
      .filter((event) => event.type === 'progress' && typeof event.message === 'string')
      .map((event) => event.message as string);
    assert.ok(
      messages.some((message) => /^remote task \S+: remote step 1 of 2$/.test(message)),
      messages.join('\n'),
    );
    assert.ok(
      messages.some((message) => /^remote task \S+ completed$/.test(message)),
      messages.join('\n'),
    );
  });

  test('polls tasks.get when use_streaming is false', async (t) => {
    const servers = await twoServers(t);
    const { tree, rows } = await runTree(
      servers.local,
      callTask({
        base_url: servers.remoteUrl,
        auth_token: servers.token,
        params: { tasks: remoteTree() },
        use_streaming: false,
        poll_interval: 0.1,
      }),
    );
    const result = completed<RemoteResult>(rows[0] as (typeof rows)[number]);
    assert.equal(result.status, 'completed');
    assert.equal((await servers.remote.tasks.get(result.remote_root_task_id))?.status, 'completed');
    const relayed = (await progressMessages(servers.local, tree.id)).filter(
      (message) => message !== 'Task tree execution started',
    );
    assert.ok(relayed.length > 0);
    assert.ok(
      relayed.every((message) => /^remote tree agg: \d of 3 tasks finished$/.test(message)),
      relayed.join('\n'),
    );
    assert.ok(relayed.includes('remote tree agg: 3 of 3 tasks finished'), relayed.join('\n'));
  });

  test('a remote failure fails the task with the remote error', async (t) => {
    const { local, remoteUrl, token } = await twoServers(t);
    const tasks = [{ name: 'bad', schemas: { method: 'system_info_executor' }, inputs: { resource: 'bogus' } }];
    const error = failed(
      await runOne(local, 'apflow_api_executor', { base_url: remoteUrl, auth_token: token, params: { tasks } }),
    );
    assert.match(
      error,
      /^apflow_api_executor: the remote task \S+ failed on http:\/\/127\.0\.0\.1:\d+: Invalid inputs for executor 'system_info_executor'/,
    );
  });

  test('a wrong or missing token fails with a clear error that does not hold the token', async (t) => {
    const servers = await twoServers(t);
    const wrong = await sign(
      { sub: 'alice', exp: now() + 3600 },
      { secret: 'another-secret-that-is-long-enough-too!!' },
    );
    const inputs = { base_url: servers.remoteUrl, params: { tasks: remoteTree() } };
    const refused = failed(await runOne(servers.local, 'apflow_api_executor', { ...inputs, auth_token: wrong }));
    assert.match(
      refused,
      /^apflow_api_executor: POST http:\/\/127\.0\.0\.1:\d+\/tasks \(tasks\.execute\) refused the credentials \(HTTP 401/,
    );
    assert.match(refused, /the auth_token given is not accepted there/);
    assert.ok(!refused.includes(wrong) && !refused.includes('***'), refused);
    const missing = failed(await runOne(servers.local, 'apflow_api_executor', inputs));
    assert.match(missing, /refused the credentials \(HTTP 401.*no auth_token was given: that server requires one$/);
    assert.equal(await remoteCount(servers), 0);
  });

  test('cancelling the task cancels the remote tree', async (t) => {
    const servers = await twoServers(t);
    const { tree, done, remoteRoot } = await holding(servers);
    await servers.local.engine.cancel([tree.id]);
    assert.equal((await done).status, 'cancelled');
    assert.match(await remoteCancelled(servers, remoteRoot.id), /Cancelled by apflow_api_executor/);
  });

  test('the timeout input and the task’s own timeout cancel the remote tree', async (t) => {
    const servers = await twoServers(t);
    const own = await holding(servers, { timeout: 1 });
    assert.equal((await own.done).status, 'failed');
    assert.match(
      String((await servers.local.tasks.get(own.tree.id))?.error),
      /^apflow_api_executor: tasks\.execute on http:\/\/127\.0\.0\.1:\d+ did not finish within 1s \(timeout\); its remote run was cancelled$/,
    );
    await remoteCancelled(servers, own.remoteRoot.id);

    const again = await twoServers(t);
    const task = await holding(again, {}, { timeout_s: 1 });
    assert.equal((await task.done).status, 'failed');
    assert.match(String((await again.local.tasks.get(task.tree.id))?.error), /^Timeout: the task ran longer than 1s/);
    await remoteCancelled(again, task.remoteRoot.id);
  });

  test('wait_for_completion false answers once the remote run started', async (t) => {
    const servers = await twoServers(t);
    const result = completed<RemoteResult>(
      await runOne(servers.local, 'apflow_api_executor', {
        base_url: servers.remoteUrl,
        auth_token: servers.token,
        params: { tasks: remoteTree({ gate: true }) },
        wait_for_completion: false,
      }),
    );
    assert.equal(result.status, 'started');
    assert.equal((await servers.remote.tasks.get(result.remote_task_id))?.status, 'pending', 'still running there');
    servers.release();
    await eventually(async () => (await servers.remote.tasks.get(result.remote_task_id))?.status === 'completed');
  });

  test('a stream dropped by a remote reload is resumed with Last-Event-ID', async (t) => {
    const servers = await twoServers(t);
    const { local, remote, remoteUrl, token } = servers;
    const tree = await local.engine.createTree(
      callTask({ base_url: remoteUrl, auth_token: token, params: { tasks: remoteTree({ gate: true }) } }),
    );
    const { done } = started(await local.engine.execute(tree.id));
    // The relayed "step 1 of 2" shows that events (with their seq) arrived before the drop.
    await eventually(async () => ((await local.tasks.get(tree.id))?.progress ?? 0) > 0.1);
    await remote.reload();
    servers.release();
    assert.equal((await done).status, 'completed');
    const messages = await progressMessages(local, tree.id);
    // Relayed after the reload only: the root ends once the gated task is released.
    assert.ok(messages.includes('remote task agg completed'), messages.join('\n'));
  });

  test('any other method is one JSON-RPC call; its error fails the task', async (t) => {
    const servers = await twoServers(t);
    const call = { base_url: servers.remoteUrl, auth_token: servers.token };
    const created = completed<{ result: { id: string } }>(
      await runOne(servers.local, 'apflow_api_executor', {
        ...call,
        method: 'tasks.create',
        params: { tasks: remoteTree() },
      }),
    );
    const got = completed<{ success: boolean; result: Json }>(
      await runOne(servers.local, 'apflow_api_executor', {
        // Headers go as given: a bearer token there works as well as auth_token.
        base_url: servers.remoteUrl,
        headers: { Authorization: `Bearer ${servers.token}` },
        method: 'tasks.get',
        params: { task_id: created.result.id },
      }),
    );
    assert.equal(got.result.id, created.result.id);
    assert.equal(got.result.status, 'pending');
    const error = failed(await runOne(servers.local, 'apflow_api_executor', { ...call, method: 'tasks.nope' }));
    assert.match(error, /^apflow_api_executor: tasks\.nope on http:\/\/127\.0\.0\.1:\d+ failed: Method not found/);
  });

  test('the default outbound policy refuses a local remote', async (t) => {
    const servers = await twoServers(t, {});
    const error = failed(
      await runOne(servers.local, 'apflow_api_executor', { base_url: servers.remoteUrl, auth_token: servers.token }),
    );
    assert.match(
      error,
      /^apflow_api_executor: http:\/\/127\.0\.0\.1:\d+\/ is refused: 127\.0\.0\.1 is not a public address \(allow it with outbound\.allow_hosts/,
    );
    assert.equal(await remoteCount(servers), 0);
  });

  test('demo mode returns the demo result without calling the remote', async (t) => {
    const servers = await twoServers(t);
    const tree = await servers.local.engine.createTree(
      callTask({ base_url: servers.remoteUrl, auth_token: servers.token, params: { tasks: remoteTree() } }),
    );
    const outcome = await started(await servers.local.engine.execute(tree.id, { demo: true })).done;
    assert.equal(outcome.status, 'completed');
    const result = (await servers.local.tasks.get(tree.id))?.result as Json;
    assert.equal(result.demo_mode, true);
    assert.equal(result.status, 'completed');
    assert.match(String(result.note), /demo/);
    assert.equal(await remoteCount(servers), 0);
  });

  test('the token and headers are in neither the local database file nor its log', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'apflow-api-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const log = memoryLog();
    const servers = await twoServers(
      t,
      {
        outbound: { allow_hosts: ['127.0.0.1'] },
        database: { url: `sqlite:${join(dir, 't.db')}` },
        log: { level: 'debug' },
      },
      { logStream: log.stream },
    );
    const header = 'header-secret-5c1e9b7d';
    const result = completed<RemoteResult>(
      await runOne(servers.local, 'apflow_api_executor', {
        base_url: servers.remoteUrl,
        auth_token: servers.token,
        headers: { 'x-extra': header },
        params: { tasks: remoteTree() },
      }),
    );
    assert.equal(result.status, 'completed');
    const files = ['t.db', 't.db-wal'].map((name) => join(dir, name)).filter((file) => existsSync(file));
    const stored = files.map((file) => readFileSync(file).toString('latin1')).join('');
    assert.ok(stored.includes('apflow_api_executor'), 'the database file holds the task');
    for (const secret of [servers.token, header]) {
      assert.ok(!stored.includes(secret), 'a secret is in the database file');
      assert.ok(!log.text().includes(secret), 'a secret is in the log');
    }
  });
});
