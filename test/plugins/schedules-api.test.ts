import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../helpers.ts';
import { QUICK, runsOf, scheduleApp } from './schedules-setup.ts';

test('schedules.preview: a cron in Europe/Berlin across both DST changes of 2027 gives the times croner documents', async (t) => {
  const { call } = await scheduleApp(t);
  // 02:30 every day: on 28 March 2027 02:30 does not exist (clocks go 02:00 → 03:00 CEST), so that
  // fire comes at the first valid time after the gap, 03:00 CEST; on 31 October 02:30 happens
  // twice (03:00 CEST → 02:00 CET), and the fire comes once, at the first.
  const spring = await call<{ fires: string[] }>('schedules.preview', {
    cron: '30 2 * * *',
    timezone: 'Europe/Berlin',
    from: '2027-03-26T12:00:00Z',
    count: 4,
  });
  assert.deepEqual(spring.result.fires, [
    '2027-03-27T01:30:00.000Z', // 02:30 CET (UTC+1)
    '2027-03-28T01:00:00.000Z', // the gap: 03:00 CEST
    '2027-03-29T00:30:00.000Z', // 02:30 CEST (UTC+2)
    '2027-03-30T00:30:00.000Z',
  ]);
  const autumn = await call<{ fires: string[] }>('schedules.preview', {
    cron: '30 2 * * *',
    timezone: 'Europe/Berlin',
    from: '2027-10-30T12:00:00Z',
    count: 3,
  });
  assert.deepEqual(autumn.result.fires, [
    '2027-10-31T00:30:00.000Z', // the first 02:30 (CEST), once
    '2027-11-01T01:30:00.000Z', // 02:30 CET
    '2027-11-02T01:30:00.000Z',
  ]);
  // Every hour at :30 runs on both 02:30s of the night the clocks go back (not a fixed-time job).
  const hourly = await call<{ fires: string[] }>('schedules.preview', {
    cron: '30 * * * *',
    timezone: 'Europe/Berlin',
    from: '2027-10-30T23:45:00Z',
    count: 3,
  });
  assert.deepEqual(hourly.result.fires, [
    '2027-10-31T00:30:00.000Z',
    '2027-10-31T01:30:00.000Z',
    '2027-10-31T02:30:00.000Z',
  ]);
  // A 6-field cron counts seconds; Monday 09:00 in Berlin is 08:00 UTC in winter.
  const seconds = await call<{ fires: string[] }>('schedules.preview', {
    cron: '*/20 * * * * *',
    from: '2027-01-01T00:00:00Z',
    count: 3,
  });
  assert.deepEqual(seconds.result.fires, [
    '2027-01-01T00:00:20.000Z',
    '2027-01-01T00:00:40.000Z',
    '2027-01-01T00:01:00.000Z',
  ]);
  // Nothing fires before starts_at; an interval's first fire is at starts_at itself.
  const later = await call<{ fires: string[] }>('schedules.preview', {
    interval_s: 3600,
    starts_at: '2027-02-01T10:00:00Z',
    ends_at: '2027-02-01T12:00:00Z',
    from: '2027-01-01T00:00:00Z',
    count: 5,
  });
  assert.deepEqual(later.result.fires, [
    '2027-02-01T10:00:00.000Z',
    '2027-02-01T11:00:00.000Z',
    '2027-02-01T12:00:00.000Z',
  ]);
  const monday = await call<{ fires: string[] }>('schedules.preview', {
    cron: '0 9 * * 1',
    timezone: 'Europe/Berlin',
    from: '2027-01-01T00:00:00Z',
    count: 1,
  });
  assert.deepEqual(monday.result.fires, ['2027-01-04T08:00:00.000Z']);
});

test('bad schedules are refused with a message naming what is wrong, and nothing is stored', async (t) => {
  const { call } = await scheduleApp(t);
  const refusals: [Record<string, unknown>, RegExp][] = [
    [{ name: 'x', tasks: QUICK, cron: 'every day' }, /cron: 'every day' is not a cron expression/],
    [{ name: 'x', tasks: QUICK, cron: '0 9 * * *', timezone: 'Mars/Olympus' }, /timezone: 'Mars\/Olympus'/],
    [{ name: 'x', tasks: QUICK, interval_s: 0 }, /interval_s/],
    [{ name: 'x', tasks: QUICK, interval_s: 5, cron: '* * * * *' }, /give one trigger/],
    [{ name: 'x', tasks: QUICK }, /needs a trigger/],
    [{ name: 'x', interval_s: 5 }, /needs a template/],
    [{ name: 'x', tasks: QUICK, template_task_id: 'a', interval_s: 5 }, /either tasks .* or template_task_id/],
    [{ name: 'x', tasks: QUICK, at: '2020-01-01T00:00:00Z' }, /at: .* is in the past/],
    [{ name: 'x', tasks: QUICK, at: 'tomorrow' }, /at: 'tomorrow' is not an ISO-8601 time/],
    [{ name: 'x', tasks: QUICK, interval_s: 5, timezone: 'UTC' }, /timezone applies to cron schedules only/],
    [{ name: 'x', tasks: QUICK, interval_s: 5, ends_at: '2020-01-01T00:00:00Z' }, /would never fire/],
    [{ name: 'x', tasks: QUICK, at: '2099-01-01T00:00:00Z', starts_at: '2099-06-01T00:00:00Z' }, /would never fire/],
    [
      { name: 'x', tasks: [{ name: 'a', parent_id: 'nope' }], interval_s: 5 },
      /parent_id 'nope' is not in the tasks array/,
    ],
    [{ name: 'x', tasks: QUICK, interval_s: 5, overlap: 'queue' }, /overlap/],
    [{ name: 'x', tasks: QUICK, interval_s: 5, catch_up_max: 5000 }, /catch_up_max/],
  ];
  for (const [params, message] of refusals) {
    const answer = await call('schedules.create', params);
    assert.equal(answer.error?.code, -32602, JSON.stringify(params));
    assert.match(answer.error?.message ?? '', message);
  }
  const missing = await call('schedules.create', { name: 'x', template_task_id: 'no-such-task', interval_s: 5 });
  assert.deepEqual([missing.error?.code, missing.error?.message], [-32004, 'Task no-such-task not found']);
  assert.deepEqual((await call('schedules.list', {})).result, []);
  assert.equal((await call('schedules.get', { id: 'nope' })).error?.code, -32004);
});

test('an interval schedule fires each period; pause stops it, resume starts it from now; the runs are ordinary trees', async (t) => {
  const { app, url, call } = await scheduleApp(t);
  const created = await call<{ id: string; next_fire_at: string; trigger: string }>('schedules.create', {
    name: 'tick',
    interval_s: 1,
    tasks: QUICK,
    inputs: { from: 'schedule' },
  });
  const id = created.result.id;
  assert.equal(created.result.trigger, 'interval');
  assert.ok(Date.parse(created.result.next_fire_at) > Date.now());
  await eventually(async () => (await runsOf(call, id)).filter((run) => run.status === 'completed').length >= 2, 6000);
  const paused = await call<{ enabled: boolean; next_fire_at: string | null }>('schedules.pause', { id });
  assert.deepEqual([paused.result.enabled, paused.result.next_fire_at], [false, null]);
  const before = await runsOf(call, id);
  // Fire times are one interval apart, each once, each a tree of its own with the schedule's inputs.
  for (let i = 1; i < before.length; i++)
    assert.equal(Date.parse(before[i]!.fire_at) - Date.parse(before[i - 1]!.fire_at), 1000);
  assert.equal(new Set(before.map((run) => run.root_task_id)).size, before.length);
  // Each run's root is tagged with the schedule and the fire time.
  assert.match(before[0]!.root_task_id!, new RegExp(`^schedule:${id}:${before[0]!.fire_at}:[0-9a-f]{8}$`));
  const root = await app.tasks.get(before[0]!.root_task_id!);
  assert.deepEqual(root?.inputs, { from: 'schedule' });
  const health = (await (await fetch(`${url}/health`)).json()) as { schedules: { enabled: number } };
  assert.equal(health.schedules.enabled, 0);

  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal((await runsOf(call, id)).length, before.length, 'no fire while paused');
  const resumed = await call<{ enabled: boolean; next_fire_at: string }>('schedules.resume', { id });
  assert.equal(resumed.result.enabled, true);
  assert.ok(Date.parse(resumed.result.next_fire_at) > Date.now() - 50);
  await eventually(async () => (await runsOf(call, id)).length > before.length, 4000);
  // The missed periods while paused are not caught up: one fire after resume, not a burst.
  const after = await runsOf(call, id);
  assert.ok(after.every((run) => run.kind === 'scheduled'));

  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /apflow_schedule_fires_total\{kind="scheduled",outcome="started"\} \d+/);
  assert.match(metrics, /apflow_schedule_fire_delay_seconds_count \d+/);
});

test('a template tree is copied at each fire (its later changes included), inputs merged into the root; trigger fires now; once fires once; max_runs ends it', async (t) => {
  const { app, call } = await scheduleApp(t);
  const template = await app.engine.createTree([
    { id: 'r', name: 'report', schemas: { method: 'system_info_executor' }, inputs: { keep: 1, over: 'template' } },
    { id: 'c', name: 'child', parent_id: 'r', schemas: { method: 'system_info_executor' } },
  ]);
  const created = await call<{ id: string }>('schedules.create', {
    name: 'weekly',
    cron: '0 9 * * 1',
    timezone: 'Europe/Berlin',
    template_task_id: template.id,
    inputs: { over: 'schedule' },
  });
  const id = created.result.id;
  const got = await call<{ upcoming: string[]; template_task_id: string }>('schedules.get', { id });
  assert.equal(got.result.template_task_id, template.id);
  assert.equal(got.result.upcoming.length, 5);
  assert.ok(got.result.upcoming.every((at) => new Date(at).getUTCDay() === 1));

  await app.tasks.update([{ id: template.id, set: { inputs: { keep: 2, over: 'template' } } }]);
  const fired = await call<{ state: string; root_task_id: string; kind: string }>('schedules.trigger', {
    id,
    inputs: { now: true },
  });
  assert.deepEqual([fired.result.state, fired.result.kind], ['started', 'manual']);
  const tree = await eventually(async () => {
    const rows = await app.tasks.tree(fired.result.root_task_id);
    return rows.every((row) => row.status === 'completed') && rows;
  });
  assert.equal(tree.length, 2);
  const root = tree.find((row) => row.parent_id === null);
  assert.deepEqual(root?.inputs, { keep: 2, over: 'schedule', now: true });
  assert.notEqual(root?.id, template.id);

  const once = await call<{ id: string; trigger: string }>('schedules.create', {
    name: 'once',
    at: new Date(Date.now() + 300).toISOString(),
    tasks: QUICK,
  });
  assert.equal(once.result.trigger, 'once');
  await eventually(async () => (await runsOf(call, once.result.id)).length === 1, 4000);
  const ended = await call<{ next_fire_at: string | null; runs: number }>('schedules.get', { id: once.result.id });
  assert.deepEqual([ended.result.next_fire_at, ended.result.runs], [null, 1]);

  const capped = await call<{ id: string }>('schedules.create', {
    name: 'twice',
    interval_s: 1,
    tasks: QUICK,
    max_runs: 2,
  });
  // A manual fire is not one of the timed fires max_runs counts.
  await call('schedules.trigger', { id: capped.result.id });
  await eventually(async () => (await runsOf(call, capped.result.id)).length === 3, 5000);
  const done = await call<{ next_fire_at: string | null; runs: number }>('schedules.get', { id: capped.result.id });
  assert.deepEqual([done.result.next_fire_at, done.result.runs], [null, 2]);
  assert.deepEqual((await runsOf(call, capped.result.id)).map((run) => run.kind).sort(), [
    'manual',
    'scheduled',
    'scheduled',
  ]);

  // A stored template whose references are names (no ids): each fire gets ids of its own.
  const named = await call<{ id: string }>('schedules.create', {
    name: 'by names',
    webhook: false,
    cron: '0 0 1 1 *',
    tasks: [
      { name: 'top', schemas: { method: 'system_info_executor' } },
      { name: 'first', parent_id: 'top', schemas: { method: 'system_info_executor' } },
      {
        name: 'then',
        parent_id: 'top',
        dependencies: [{ name: 'first' }],
        schemas: { method: 'system_info_executor' },
      },
    ],
  });
  const runs = await Promise.all(
    [1, 2].map(() => call<{ root_task_id: string }>('schedules.trigger', { id: named.result.id })),
  );
  for (const run of runs) {
    const rows = await eventually(async () => {
      const tree = await app.tasks.tree(run.result.root_task_id);
      return tree.every((row) => row.status === 'completed') && tree;
    });
    const first = rows.find((row) => row.name === 'first');
    assert.deepEqual(rows.find((row) => row.name === 'then')?.dependencies?.[0]?.id, first?.id);
  }
  assert.notEqual(runs[0]?.result.root_task_id, runs[1]?.result.root_task_id);

  const list = await call<{ id: string }[]>('tasks.scheduled.list', {});
  assert.equal(list.result.length, 4);
  const deleted = await call('schedules.delete', { id });
  assert.deepEqual(deleted.result, { id, deleted: true });
  assert.equal((await call('schedules.get', { id })).error?.code, -32004);
  // The runs stay: deleting a schedule deletes what it would do, not what it did.
  assert.ok(await app.tasks.get(fired.result.root_task_id));
});

test('secret inputs of a stored template are sealed in the schedules table', async (t) => {
  const { mkdtempSync, readFileSync, readdirSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'apflow-schedules-'));
  const { call, app } = await scheduleApp(t, { database: { url: `sqlite:${join(dir, 'db.sqlite')}` } });
  const secret = 'Bearer sk-schedule-secret-0123456789';
  const created = await call<{ id: string }>('schedules.create', {
    name: 'call an API',
    cron: '0 0 1 1 *',
    tasks: [
      {
        name: 'call',
        schemas: { method: 'rest_executor' },
        inputs: { url: 'https://example.com/hook', method: 'POST', headers: { authorization: `${secret}-task` } },
      },
    ],
    // The schedule's own inputs for the root, and a manual fire's, are sealed as the root's would be.
    inputs: { headers: { authorization: secret } },
  });
  const fired = await call<{ root_task_id: string }>('schedules.trigger', {
    id: created.result.id,
    inputs: { headers: { 'x-other': secret } },
  });
  assert.ok(fired.result.root_task_id);
  assert.equal(created.error, undefined);
  await app.close();
  for (const file of readdirSync(dir))
    assert.ok(!readFileSync(join(dir, file)).includes(secret), `${file} holds the secret in the clear`);
});

test('a reload swaps the scheduler and it goes on firing; a one-shot command app changes schedules but fires none', async (t) => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { createApp } = await import('apflow');
  const { memoryLog, repoRoot } = await import('../helpers.ts');
  const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'apflow-schedules-')), 'db.sqlite')}`;
  // A command's app (resume: false, as the CLI opens it) on the same database.
  const command = await createApp({
    env: {},
    cwd: repoRoot,
    logStream: memoryLog().stream,
    resume: false,
    inline: { database: { url }, executors: { dirs: [] }, examples: { auto_init: false } },
  });
  t.after(() => command.close());
  const schedules = command.service('schedules');
  assert.ok(schedules);
  const created = (await schedules.call('create', { name: 'tick', interval_s: 1, tasks: QUICK })) as { id: string };
  await new Promise((resolve) => setTimeout(resolve, 1600));
  assert.deepEqual(await schedules.call('runs', { id: created.id }), [], 'a command does not fire');
  await command.close();

  const { app, call } = await scheduleApp(t, { database: { url } });
  await eventually(async () => (await runsOf(call, created.id)).length >= 1, 4000);
  await app.reload();
  const before = (await runsOf(call, created.id)).length;
  await eventually(async () => (await runsOf(call, created.id)).length >= before + 2, 5000);
  const runs = await runsOf(call, created.id);
  // The server was down for the command's 1.6 s: catch_up one made one catch-up fire at most.
  assert.ok(runs.filter((run) => run.kind === 'catch_up').length <= 1);
  assert.equal(new Set(runs.map((run) => run.fire_at)).size, runs.length);
});

test('fire records older than schedules.fire_retention_s are pruned; the runs stay', async (t) => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'apflow-schedules-')), 'db.sqlite')}`;
  const first = await scheduleApp(t, { database: { url } });
  const { result } = await first.call<{ id: string }>('schedules.create', { name: 'x', webhook: true, tasks: QUICK });
  const old = await first.call<{ root_task_id: string; fire_at: string }>('schedules.trigger', { id: result.id });
  await first.call('schedules.trigger', { id: result.id });
  // Two hours pass for the first fire (the test's stand-in for waiting).
  await first.app.storage.sql.write((tx) =>
    tx.run('UPDATE schedules_fires SET fired_at = ? WHERE root_task_id = ?', [
      new Date(Date.now() - 7_200_000).toISOString(),
      old.result.root_task_id,
    ]),
  );
  await first.app.close();
  const second = await scheduleApp(t, { database: { url }, schedules: { fire_retention_s: 3600 } });
  await eventually(async () => (await runsOf(second.call, result.id)).length === 1);
  assert.ok(await second.app.tasks.get(old.result.root_task_id));
});
