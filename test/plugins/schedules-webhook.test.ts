import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually } from '../helpers.ts';
import { QUICK, runsOf, scheduleApp } from './schedules-setup.ts';

const sign = (secret: string, t: number, body: string) =>
  `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
const nowS = () => Math.floor(Date.now() / 1000);

async function post(url: string, body: string, signature?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature ? { 'apflow-signature': signature } : {}) },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

test('a signed webhook fires its schedule with the body as inputs; bad, old, missing and replayed signatures fire nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-webhook-'));
  const { app, call } = await scheduleApp(t, { database: { url: `sqlite:${join(dir, 'db.sqlite')}` } });
  const created = await call<{ id: string; webhook_url: string; webhook_secret: string; trigger: string }>(
    'schedules.create',
    { name: 'on push', webhook: true, tasks: QUICK, inputs: { repo: 'apflow', branch: 'main' } },
  );
  const { id, webhook_url: hook, webhook_secret: secret } = created.result;
  assert.equal(created.result.trigger, 'webhook');
  assert.match(hook, /^http:\/\/127\.0\.0\.1:\d+\/webhooks\/[0-9a-f]{32}$/);
  assert.match(secret, /^whsec_/);
  // The secret is shown once: never again, and not stored in the clear.
  const got = await call<Record<string, unknown>>('schedules.get', { id });
  assert.equal(got.result.webhook_secret, undefined);
  assert.equal(got.result.webhook_url, hook);
  assert.equal(got.result.next_fire_at, null);

  const body = JSON.stringify({ branch: 'release', commits: 3 });
  const good = sign(secret, nowS(), body);
  const fired = await post(hook, body, good);
  assert.equal(fired.status, 202);
  assert.deepEqual([fired.body.state, fired.body.kind], ['started', 'webhook']);
  const root = await eventually(async () => {
    const row = await app.tasks.get(String(fired.body.root_task_id));
    return row?.status === 'completed' && row;
  });
  assert.deepEqual(root.inputs, { repo: 'apflow', branch: 'release', commits: 3 });

  const refused = [
    [body, undefined, /Apflow-Signature header is missing|apflow-signature header is missing/],
    [body, sign('whsec_wrong', nowS(), body), /does not match/],
    [JSON.stringify({ branch: 'evil' }), good, /does not match/],
    [body, sign(secret, nowS() - 301, body), /more than 300 s away/],
    // +302: the second nowS() rounded down is up to 1 s older than the server's clock when it checks.
    [body, sign(secret, nowS() + 302, body), /more than 300 s away/],
    [body, 'v1=abc', /must be t=/],
  ] as const;
  for (const [text, signature, message] of refused) {
    const answer = await post(hook, text, signature);
    assert.equal(answer.status, 401, String(signature));
    assert.match(JSON.stringify(answer.body), message);
  }
  const replay = await post(hook, body, good);
  assert.equal(replay.status, 409);
  assert.match(JSON.stringify(replay.body), /replay/);
  assert.equal((await runsOf(call, id)).length, 1, 'only the one good request fired');

  // A body that is not an object arrives as { payload }; an empty body adds nothing.
  const list = '[1,2]';
  const second = await post(hook, list, sign(secret, nowS(), list));
  assert.equal(second.status, 202);
  const listRoot = await app.tasks.get(String(second.body.root_task_id));
  assert.deepEqual(listRoot?.inputs, { repo: 'apflow', branch: 'main', payload: [1, 2] });

  await call('schedules.pause', { id });
  const later = JSON.stringify({ n: 1 });
  const paused = await post(hook, later, sign(secret, nowS(), later));
  assert.equal(paused.status, 409);
  assert.equal((await runsOf(call, id)).length, 2);
  assert.equal((await post(`${hook}0`, body, good)).status, 404);

  await app.close();
  for (const file of readdirSync(dir))
    assert.ok(!readFileSync(join(dir, file)).includes(secret), `${file} holds the webhook secret in the clear`);
});

test('with authentication on, a webhook needs its signature and no token; users see and change only their own schedules', async (t) => {
  const { app, call } = await scheduleApp(t, { auth: { jwt_secret: 'schedules-test-secret-0123456789abcdef' } });
  const jwt = app.service('jwt-auth');
  assert.ok(jwt);
  const alice = await jwt.mint('alice', [], '1h');
  const bob = await jwt.mint('bob', [], '1h');
  const root = await jwt.mint('root', ['admin'], '1h');

  assert.equal((await call('schedules.list', {})).status, 401);
  const mine = await call<{ id: string; user_id: string; webhook_url: string; webhook_secret: string }>(
    'schedules.create',
    { name: 'alice nightly', cron: '0 3 * * *', tasks: QUICK, webhook: true },
    alice,
  );
  assert.equal(mine.result.user_id, 'alice');
  const id = mine.result.id;
  for (const method of [
    'schedules.get',
    'schedules.pause',
    'schedules.resume',
    'schedules.trigger',
    'schedules.delete',
    'schedules.runs',
  ])
    assert.equal((await call(method, { id }, bob)).error?.code, -32004, method);
  assert.equal((await call('schedules.update', { id, name: 'bob was here' }, bob)).error?.code, -32004);
  assert.deepEqual((await call('schedules.list', {}, bob)).result, []);
  assert.equal((await call('schedules.list', { user_id: 'alice' }, bob)).error?.code, -32003);
  assert.equal(
    (await call('schedules.create', { name: 'x', cron: '0 3 * * *', tasks: QUICK, user_id: 'alice' }, bob)).error?.code,
    -32003,
  );
  // Alice's tree is not bob's template.
  const tree = await call<{ id: string }>('tasks.create', QUICK, alice);
  const stolen = await call(
    'schedules.create',
    { name: 'x', cron: '0 3 * * *', template_task_id: tree.result.id },
    bob,
  );
  assert.equal(stolen.error?.code, -32004);

  // A tree of nobody's (as the examples are) may be anyone's template; the runs are theirs.
  const shared = await app.engine.createTree(QUICK);
  const fromShared = await call<{ id: string }>(
    'schedules.create',
    { name: 'from a shared tree', webhook: false, cron: '0 3 * * *', template_task_id: shared.id },
    alice,
  );
  const sharedRun = await call<{ state: string; root_task_id: string }>(
    'schedules.trigger',
    { id: fromShared.result.id },
    alice,
  );
  assert.equal(sharedRun.result.state, 'started');
  assert.equal((await app.tasks.get(sharedRun.result.root_task_id))?.user_id, 'alice');
  await call('schedules.delete', { id: fromShared.result.id }, alice);

  const everyone = await call<{ id: string }[]>('schedules.list', {}, root);
  assert.deepEqual(
    everyone.result.map((row) => row.id),
    [id],
  );
  const fired = await call<{ root_task_id: string }>('schedules.trigger', { id }, alice);
  assert.equal((await app.tasks.get(fired.result.root_task_id))?.user_id, 'alice');
  // The run is alice's: bob cannot read it (tasks.get answers null for a task he may not see).
  assert.equal((await call('tasks.get', { task_id: fired.result.root_task_id }, bob)).result, null);
  assert.ok((await call('tasks.get', { task_id: fired.result.root_task_id }, alice)).result);

  const body = '{"x":1}';
  const hook = await post(mine.result.webhook_url, body, sign(mine.result.webhook_secret, nowS(), body));
  assert.equal(hook.status, 202);
  assert.equal((await app.tasks.get(String(hook.body.root_task_id)))?.user_id, 'alice');
  const unsigned = await fetch(mine.result.webhook_url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  assert.equal(unsigned.status, 401);
  assert.equal((await runsOf(call, id, alice)).length, 2);
});
