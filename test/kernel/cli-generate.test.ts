import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runApflow, tempProject } from '../helpers.ts';
import { call, runProject } from './cli-run-setup.ts';

test('generate task-tree prints the generated tasks the same locally and on a server; -o, --no-pretty, --save', async (t) => {
  const project = await runProject(t);
  const args = ['generate', 'task-tree', 'Say hi', '-p', 'openai', '-m', 'gpt-x', '-t', '0.5', '--max-tokens', '100'];
  const [local, remote, line, saved, failed, failedThere, unwritable] = await Promise.all([
    project.cli(args),
    project.cli(args, { as: 'alice' }),
    project.cli(['generate', 'task-tree', 'Say hi', '--no-pretty']),
    project.cli(['generate', 'task-tree', 'Greet', '-o', 'plan.json', '--save', '-u', 'alice'], { as: 'alice' }),
    project.cli(['generate', 'task-tree', 'an impossible plan']),
    project.cli(['generate', 'task-tree', 'an impossible plan'], { as: 'alice' }),
    project.cli(['generate', 'task-tree', 'Say hi', '-o', 'no-folder/plan.json', '--save']),
  ]);
  for (const run of [local, remote, line, saved]) assert.equal(run.code, 0, run.stderr);
  assert.equal(remote.stdout, local.stdout, 'the same both ways');
  assert.equal(local.stderr, '');
  const plan = [
    {
      name: 'Plan: Say hi',
      schemas: { method: 'echo' },
      inputs: { requirement: 'Say hi', llm_provider: 'openai', model: 'gpt-x', temperature: 0.5, max_tokens: 100 },
    },
  ];
  assert.equal(local.stdout, `${JSON.stringify(plan, null, 2)}\n`, 'indented by default');
  assert.equal(line.stdout, `${JSON.stringify([{ ...plan[0], inputs: { requirement: 'Say hi' } }])}\n`);

  assert.equal(saved.stdout, '', 'the tasks went to the file');
  const rootId = /saved as the tree (\S+)\n$/.exec(saved.stderr)?.[1];
  assert.ok(rootId, saved.stderr);
  assert.match(saved.stderr, /^1 task\(s\) generated, written to plan\.json; saved as the tree /);
  const stored = (await call(project, 'tasks.get', { task_id: rootId })) as { name: string; user_id: string };
  assert.deepEqual([stored.name, stored.user_id], ['Plan: Greet', 'alice']);
  const file = JSON.parse(readFileSync(join(project.dir, 'plan.json'), 'utf8')) as { name: string }[];
  assert.deepEqual(
    file.map((task) => task.name),
    ['Plan: Greet'],
  );
  const run = await project.cli(['run', 'plan.json']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal((JSON.parse(run.stdout) as { status: string }).status, 'completed', 'a generated plan runs');

  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /^apflow: Task generation failed: no plan for that \(APF_INVALID_PARAMS\)\n$/);
  assert.equal(failedThere.stderr, failed.stderr, 'the same error both ways');

  assert.equal(unwritable.code, 1);
  const tasks = [{ ...plan[0], inputs: { requirement: 'Say hi' } }];
  assert.equal(unwritable.stdout, `${JSON.stringify(tasks, null, 2)}\n`, 'the generated tasks are not lost');
  assert.match(
    unwritable.stderr,
    /^1 task\(s\) generated; saved as the tree \S+\napflow: cannot write no-folder\/plan\.json: ENOENT.*\(the outcome is on standard output instead\) \(APF_INVALID_PARAMS\)\n$/,
  );
});

test('generate task-tree without a generate_executor says what to install; bad numbers are named', async (t) => {
  const dir = tempProject(t);
  const env = { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' };
  const [missing, hot] = await Promise.all([
    runApflow(['generate', 'task-tree', 'Plan a trip'], { cwd: dir, env }),
    runApflow(['generate', 'task-tree', 'Plan a trip', '-t', 'hot'], { cwd: dir, env }),
  ]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^apflow: tasks\.generate needs an LLM extension with generate_executor: npm install/);
  assert.equal(hot.code, 1);
  assert.equal(hot.stderr, "apflow: --temperature must be a number, not 'hot' (APF_INVALID_PARAMS)\n");
});
