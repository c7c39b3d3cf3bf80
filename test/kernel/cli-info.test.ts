import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runApflow, tempProject } from '../helpers.ts';
import { pkg } from './cli-setup.ts';

const shout = `import { defineExecutor, Type } from 'apflow';
export default defineExecutor({
  id: 'shout',
  description: 'Shouts a name',
  inputSchema: Type.Object({ name: Type.String() }),
  execute: (inputs) => ({ shout: inputs.name.toUpperCase() }),
});
`;

test('apflow version prints the version and the Node.js it runs on (JSON when piped)', async () => {
  const run = await runApflow(['version']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), {
    version: pkg.version,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  });
});

test("apflow executors list prints the project's executors as system.executors answers them", async (t) => {
  const dir = tempProject(t, { 'executors/shout.ts': shout });
  const env = { APFLOW_DATABASE_URL: 'sqlite:.data/apflow.sqlite' };
  const run = await runApflow(['executors', 'list'], { cwd: dir, env });
  assert.equal(run.code, 0, run.stderr);
  const listed = JSON.parse(run.stdout) as {
    count: number;
    executors: { id: string; description: string; source: string }[];
  };
  assert.equal(listed.count, listed.executors.length);
  const mine = listed.executors.find((entry) => entry.id === 'shout');
  assert.deepEqual([mine?.description, mine?.source], ['Shouts a name', 'executors folder']);
  assert.ok(
    listed.executors.some((entry) => entry.id === 'rest_executor'),
    'the built-in executors too',
  );

  const wrong = await runApflow(['executors', 'show'], { cwd: dir, env });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /unknown action 'executors show' \(use: list\)/);
});
