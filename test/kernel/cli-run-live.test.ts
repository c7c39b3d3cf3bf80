import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, spawnApflow } from '../helpers.ts';
import { call, runProject } from './cli-run-setup.ts';

test('the live view (--watch) shows each task; a question ends the run with exit 1, the answer and how to resume', async (t) => {
  const project = await runProject(t);
  const [watched, asked, remote] = await Promise.all([
    project.cli(['run', 'flow', 'echo', '-w']),
    project.cli(['run', 'flow', 'ask', '--watch']),
    project.cli(['run', 'flow', 'ask'], { as: 'alice' }),
  ]);
  assert.equal(watched.code, 0, watched.stderr);
  assert.match(watched.stderr, /^▶ Execute echo {2}in_progress$/m);
  assert.match(watched.stderr, /^✓ Execute echo {2}completed$/m);

  assert.equal(asked.code, 1, 'waiting for input is not completed');
  const answer = JSON.parse(asked.stdout) as { status: string; root_task_id: string; waiting: unknown[] };
  assert.equal(answer.status, 'input_required');
  assert.deepEqual(answer.waiting, [{ task_id: answer.root_task_id, prompt: 'Go on?' }]);
  const hint = `answer with tasks.resume {"task_id": "${answer.root_task_id}", "input": …}`;
  assert.ok(
    asked.stderr.includes(`⏸ Execute ask  asks: Go on? (${hint} on a server using this database`),
    asked.stderr,
  );
  assert.ok(asked.stderr.includes(`${answer.root_task_id} asks: Go on?`), asked.stderr);

  assert.equal(remote.code, 1);
  const waiting = JSON.parse(remote.stdout) as { root_task_id: string };
  assert.ok(
    remote.stderr.includes(
      `on ${project.url} (apflow tasks resume ${waiting.root_task_id} --input JSON); the run goes on there`,
    ),
    remote.stderr,
  );
  // Answered with the CLI, as the hint says (an unknown task is refused with the catalogue's code).
  const wrong = await project.cli(['tasks', 'resume', 'nobody', '--input', '{}'], { as: 'alice' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^apflow: Task nobody not found \(APF_NOT_FOUND\)$/m);
  const resumed = await project.cli(['tasks', 'resume', waiting.root_task_id, '--input', '{"ok": true}'], {
    as: 'alice',
  });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(JSON.parse(resumed.stdout), { task_id: waiting.root_task_id, status: 'pending', resumed: true });
  const done = await eventually(async () => {
    const task = (await call(project, 'tasks.get', { task_id: waiting.root_task_id })) as Record<string, unknown>;
    return task.status === 'completed' && task;
  }, 30_000);
  assert.deepEqual(done.result, { answer: { ok: true } }, 'the run went on on the server');
});

test('Ctrl-C cancels the running tree, here and on a server: the answer says cancelled, exit 1', async (t) => {
  const project = await runProject(t);
  const token = await project.token('alice');
  const start = (remote: boolean) => {
    const where = remote ? ['--server', project.url, '--token', token] : [];
    const run = spawnApflow(['run', 'flow', 'hang', '--watch', ...where], { cwd: project.dir, env: project.env });
    t.after(() => run.child.kill('SIGKILL'));
    return run;
  };
  const runs = [start(false), start(true)];
  await Promise.all(
    runs.map(async (run) => {
      await eventually(() => run.stderr().includes('▶ Execute hang  in_progress'), 60_000);
      // A second Ctrl-C while the cancel is under way does not kill the run half done.
      run.child.kill('SIGINT');
      run.child.kill('SIGINT');
      assert.equal(await run.exited, 1, run.stderr());
      const answer = JSON.parse(run.stdout()) as { status: string; error: string; root_task_id: string };
      assert.deepEqual([answer.status, answer.error], ['cancelled', 'Cancelled from the command line']);
      assert.match(run.stderr(), /^cancelling .+…$/m);
      assert.match(run.stderr(), /^■ Execute hang {2}Cancelled from the command line$/m);
      const task = (await call(project, 'tasks.get', { task_id: answer.root_task_id })) as { status: string };
      assert.equal(task.status, 'cancelled');
    }),
  );
});

test('a run in the CLI process hears a cancel made elsewhere (here: on the server)', async (t) => {
  const project = await runProject(t);
  const tasks = JSON.stringify([{ id: 'hung', name: 'Hung', schemas: { method: 'hang' } }]);
  const run = spawnApflow(['run', 'flow', '-t', tasks, '-w'], { cwd: project.dir, env: project.env });
  t.after(() => run.child.kill('SIGKILL'));
  await eventually(() => run.stderr().includes('▶ Hung  in_progress'), 60_000);
  const [cancelled] = (await call(project, 'tasks.cancel', { task_ids: ['hung'], error_message: 'stop now' })) as {
    status: string;
  }[];
  assert.equal(cancelled?.status, 'cancelled');
  assert.equal(await run.exited, 1, 'the run noticed, aborted its executor and reported the tree not completed');
  const answer = JSON.parse(run.stdout()) as { status: string; error: string };
  assert.deepEqual([answer.status, answer.error], ['cancelled', 'stop now']);
});
