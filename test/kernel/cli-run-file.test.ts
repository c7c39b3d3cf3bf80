import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runApflow, tempProject } from '../helpers.ts';
import { fixtureExecutors } from './cli-remote-setup.ts';

test('apflow run FILE: the outcome of a tree, exit 1 when it fails, - for stdin, errors named', async (t) => {
  const dir = tempProject(t, {
    'apflow.config.json': JSON.stringify({
      database: { url: 'sqlite:./.data/apflow.sqlite' },
      executors: { dirs: [fixtureExecutors] },
      examples: { auto_init: false },
    }),
  });
  const cli = (args: string[], input?: string) =>
    runApflow(args, { cwd: dir, ...(input === undefined ? {} : { input }) });
  const tree = {
    tasks: [
      {
        id: 'root',
        name: 'Aggregate',
        schemas: { method: 'aggregate_results_executor' },
        dependencies: ['cpu', 'nap'],
      },
      {
        id: 'cpu',
        name: 'CPU',
        parent_id: 'root',
        schemas: { method: 'system_info_executor' },
        inputs: { resource: 'cpu' },
      },
      { id: 'nap', name: 'Nap', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 20 } },
    ],
  };
  writeFileSync(join(dir, 'tree.json'), JSON.stringify(tree));
  writeFileSync(join(dir, 'cycle.json'), JSON.stringify([{ id: 'a', name: 'a', dependencies: ['a'] }]));
  const failing = JSON.stringify([{ name: 'root', schemas: { method: 'fail' }, inputs: { message: 'no luck' } }]);
  const nap = JSON.stringify([{ name: 'Nap', schemas: { method: 'sleep' }, inputs: { ms: 1 } }]);
  const [ran, failed, missing, cycle, unwritable] = await Promise.all([
    cli(['run', 'tree.json']),
    cli(['run', '-'], failing),
    cli(['run', 'nope.json']),
    cli(['run', 'cycle.json']),
    cli(['run', '-', '-o', 'no-folder/outcome.json'], nap),
  ]);
  assert.equal(ran.code, 0, ran.stderr);
  assert.equal(ran.stderr, '', 'no live view when stderr is not a terminal, and no log noise');
  const outcome = JSON.parse(ran.stdout) as {
    status: string;
    root_task_id: string;
    result: { summary: string; results: Record<string, unknown> };
  };
  assert.deepEqual([outcome.status, outcome.root_task_id], ['completed', 'root']);
  assert.equal(outcome.result.summary, 'Task Results Aggregation');
  assert.deepEqual(Object.keys(outcome.result.results).sort(), ['cpu', 'nap']);
  assert.equal(failed.code, 1);
  const failure = JSON.parse(failed.stdout) as { status: string; error: string };
  assert.deepEqual([failure.status, failure.error], ['failed', 'no luck']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^apflow: cannot read nope\.json: .*\(APF_INVALID_PARAMS\)\n$/);
  assert.equal(cycle.code, 1);
  assert.match(cycle.stderr, /Circular dependency detected: a -> a/);
  assert.equal(unwritable.code, 1);
  assert.match(
    unwritable.stderr,
    /^apflow: cannot write no-folder\/outcome\.json: ENOENT.* \(the outcome is on standard output instead\) \(APF_INVALID_PARAMS\)\n$/,
  );
  assert.equal((JSON.parse(unwritable.stdout) as { status: string }).status, 'completed', 'the outcome is not lost');
});
