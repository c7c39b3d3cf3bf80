import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createApp } from 'apflow';
import { eventually, memoryLog, repoRoot, tempProject } from '../helpers.ts';
import { run } from './cli-setup.ts';

const fixture = (name: string) => readFileSync(join(repoRoot, 'test', 'fixtures', 'executors', name), 'utf8');
const env = { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' };

/** Ends once the file `inputs.path` exists (or when aborted): a task the test lets finish. */
const gate = `import { existsSync } from 'node:fs';
import { defineExecutor } from 'apflow';
export default defineExecutor({
  id: 'gate',
  description: 'waits for the file inputs.path',
  async execute(inputs: Record<string, unknown>, ctx) {
    while (!existsSync(String(inputs.path))) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { opened: true };
  },
});
`;

const tree = [
  { id: 'root', name: 'Aggregate', schemas: { method: 'aggregate_results_executor' }, dependencies: ['cpu'] },
  { id: 'cpu', name: 'CPU', parent_id: 'root', schemas: { method: 'system_info_executor' }, inputs: {} },
];

/** A project with its own SQLite file, a tree file, and executors that fail or wait for a file. */
function project(t: TestContext) {
  const dir = tempProject(t, {
    'tree.json': JSON.stringify({ tasks: tree }),
    'failing.json': JSON.stringify([{ name: 'root', schemas: { method: 'fail' }, inputs: { message: 'no luck' } }]),
    'executors/fail.ts': fixture('fail.ts'),
    'executors/gate.ts': gate,
    // A command closing stops what still runs at once and hands it back (no grace to wait out).
    'apflow.config.json': JSON.stringify({ server: { shutdown_timeout_s: 0 } }),
  });
  const apflow = async (...args: string[]) => {
    const out = await run(t, ['schedules', ...args], { cwd: dir });
    return { ...out, json: () => JSON.parse(out.stdout) as Record<string, unknown> };
  };
  return { dir, apflow };
}

test('schedules add, list (JSON and table), pause, resume, trigger to the end, runs, rm', async (t) => {
  const { dir, apflow } = project(t);
  const add = await apflow(
    'add',
    '--name',
    'nightly',
    '--cron',
    '0 3 * * *',
    '--timezone',
    'Europe/Berlin',
    '-f',
    'tree.json',
  );
  assert.equal(add.code, 0, add.stderr);
  const created = add.json();
  const id = String(created.id);
  assert.equal(created.trigger, 'cron');
  assert.equal(created.timezone, 'Europe/Berlin');
  assert.equal(created.enabled, true);
  assert.ok(Date.parse(String(created.next_fire_at)) > Date.now(), 'the next fire is stored');
  assert.equal(add.stderr, '', 'no webhook, so no secret note');

  const [list, tabled] = await Promise.all([apflow('list'), apflow('list', '--table')]);
  assert.equal(list.code, 0, list.stderr);
  const listed = JSON.parse(list.stdout) as Record<string, unknown>[];
  assert.deepEqual(
    listed.map((schedule) => [schedule.id, schedule.next_fire_at]),
    [[id, created.next_fire_at]],
    'JSON when stdout is not a terminal',
  );
  const table = tabled.stdout.split('\n');
  assert.match(table[0] ?? '', /^ID\s+NAME\s+TRIGGER\s+ENABLED\s+NEXT FIRE\s+RUNS$/);
  assert.match(
    table[1] ?? '',
    new RegExp(
      `^${id}\\s+nightly\\s+cron 0 3 \\* \\* \\* Europe/Berlin\\s+yes\\s+${String(created.next_fire_at)}\\s+0$`,
    ),
  );

  const paused = await apflow('pause', id);
  assert.equal(paused.code, 0, paused.stderr);
  assert.equal(paused.json().enabled, false);
  assert.equal(paused.json().next_fire_at, null);
  const onlyPaused = await apflow('list', '--paused');
  assert.deepEqual(
    (JSON.parse(onlyPaused.stdout) as { id: string }[]).map((schedule) => schedule.id),
    [id],
  );
  const resumed = (await apflow('resume', id)).json();
  assert.equal(resumed.enabled, true);
  assert.ok(Date.parse(String(resumed.next_fire_at)) > Date.now(), 'the next fire is back');

  const fired = await apflow('trigger', id, '--inputs', '{"note":"by hand"}');
  assert.equal(fired.code, 0, fired.stderr);
  const fire = fired.json();
  assert.equal(fire.kind, 'manual');
  assert.equal(fire.state, 'started');
  assert.equal(fire.status, 'completed', 'the command waited for the tree to end');
  assert.equal((fire.result as { summary?: string }).summary, 'Task Results Aggregation');
  const [root, runs] = await Promise.all([
    run(t, ['tasks', 'get', String(fire.root_task_id)], { cwd: dir }),
    apflow('runs', id, '--limit', '5'),
  ]);
  assert.equal(JSON.parse(root.stdout).status, 'completed');
  assert.equal(JSON.parse(root.stdout).inputs.note, 'by hand');
  assert.deepEqual(
    (JSON.parse(runs.stdout) as Record<string, unknown>[]).map((fire) => [fire.root_task_id, fire.status]),
    [[fire.root_task_id, 'completed']],
  );

  const removed = await apflow('rm', id);
  assert.deepEqual(removed.json(), { id, deleted: true });
  const gone = await apflow('get', id);
  assert.equal(gone.code, 1);
  assert.equal(gone.stderr, `apflow: Schedule ${id} not found (APF_NOT_FOUND)\n`);
});

test('schedules: a failed run exits 1; a webhook secret is shown once; bad input is named', async (t) => {
  const { dir, apflow } = project(t);
  const failingTree = readFileSync(join(dir, 'failing.json'), 'utf8');
  const [failing, hooked] = await Promise.all([
    run(t, ['schedules', 'add', '--name', 'failing', '--webhook-only', '-f', '-'], { cwd: dir, input: failingTree }),
    apflow('add', '--name', 'hooked', '--every', '3600', '--webhook', '-f', 'tree.json', '--paused'),
  ]);
  assert.equal(failing.code, 0, failing.stderr);
  const failingId = String(JSON.parse(failing.stdout).id);
  assert.equal(JSON.parse(failing.stdout).trigger, 'webhook');
  assert.match(failing.stderr, /shown only this once/, '--webhook-only makes a webhook');
  assert.equal(hooked.code, 0, hooked.stderr);
  const secret = String(hooked.json().webhook_secret);
  assert.match(secret, /^whsec_/);
  assert.equal(hooked.json().enabled, false);
  assert.equal(hooked.json().next_fire_at, null);
  assert.equal(
    hooked.stderr,
    'apflow: webhook_secret is shown only this once: keep it now to sign the webhook requests\n',
  );

  writeFileSync(join(dir, 'broken.json'), '[{"name": ');
  const [got, fired, badInputs, badTriggerInputs, badOverlap, twoTriggers, unknown, noId, broken] = await Promise.all([
    apflow('get', String(hooked.json().id)),
    apflow('trigger', failingId),
    apflow('add', '--name', 'x', '--every', '60', '-f', 'tree.json', '--inputs', '{oops'),
    apflow('trigger', failingId, '--inputs', '[1]'),
    apflow('add', '--name', 'x', '--every', '60', '-f', 'failing.json', '--overlap', 'never'),
    apflow('add', '--name', 'x', '--every', '60', '--cron', '* * * * *', '-f', 'tree.json'),
    apflow('explode'),
    apflow('pause'),
    apflow('add', '--name', 'x', '--every', '60', '-f', 'broken.json'),
  ]);
  assert.equal(got.json().webhook, true);
  assert.match(String(got.json().webhook_url), /^\/webhooks\/[0-9a-f]+$/);
  assert.ok(!got.stdout.includes(secret), 'get never shows the secret');
  assert.equal(fired.code, 1, 'the run failed');
  assert.equal(fired.json().status, 'failed');
  assert.equal(fired.json().error, 'no luck');
  for (const [out, line] of [
    [badInputs, /^apflow: --inputs is not valid JSON: .+ \(APF_PARSE_ERROR\)\n$/],
    [badTriggerInputs, /^apflow: --inputs must be a JSON object.+ \(APF_INVALID_PARAMS\)\n$/],
    [badOverlap, /^apflow: --overlap must be one of: skip, allow, cancel_previous \(APF_INVALID_PARAMS\)\n$/],
    [twoTriggers, /^apflow: give one trigger, not --cron and --every \(APF_INVALID_PARAMS\)\n$/],
    [
      unknown,
      /^apflow: unknown action 'schedules explode' \(use one of: list, add, get, runs, rm, pause, resume, trigger\)/,
    ],
    [noId, /^apflow: 'schedules pause' needs a schedule id/],
  ] as const) {
    assert.equal(out.code, 1, out.stderr);
    assert.match(out.stderr, line);
    assert.equal(out.stdout, '');
  }
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /^apflow: broken\.json is not valid JSON: .+ \(APF_PARSE_ERROR\)\n$/);
  assert.deepEqual(
    (JSON.parse((await apflow('list')).stdout) as { name: string }[]).map((schedule) => schedule.name).sort(),
    ['failing', 'hooked'],
    'nothing was created by the bad commands',
  );
});

test('schedules trigger --no-wait hands the run to a server on the database', async (t) => {
  const { dir, apflow } = project(t);
  const open = join(dir, 'open');
  writeFileSync(
    join(dir, 'gated.json'),
    JSON.stringify([{ name: 'gated', schemas: { method: 'gate' }, inputs: { path: open } }]),
  );
  const id = String((await apflow('add', '--name', 'gated', '--webhook-only', '-f', 'gated.json')).json().id);
  const fired = await apflow('trigger', id, '--no-wait');
  assert.equal(fired.code, 0, fired.stderr);
  const fire = fired.json();
  assert.equal(fire.state, 'started');
  assert.ok(!('status' in fire), 'it did not wait for the end');
  const rootId = String(fire.root_task_id);
  const reader = await createApp({ cwd: dir, env, resume: false, logStream: memoryLog().stream });
  const handed = await reader.tasks.get(rootId);
  await reader.close();
  assert.equal(handed?.status, 'pending', 'stopped when the command closed, and handed back');
  assert.equal(handed.pinned_to, null, 'any server may take it');

  const server = await createApp({ cwd: dir, env, logStream: memoryLog().stream });
  t.after(() => server.close());
  writeFileSync(open, '');
  await eventually(async () => (await server.tasks.get(rootId))?.status === 'completed', 30_000);
});
