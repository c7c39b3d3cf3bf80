import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runApflow } from '../helpers.ts';
import { remoteProject } from './cli-remote-setup.ts';
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

test("apflow executors list prints the project's executors as system.executors answers them, the same on a server", async (t) => {
  const project = await remoteProject(t, {
    'apflow.config.ts': `import { defineConfig } from 'apflow';
export default defineConfig({
  database: { url: 'sqlite:./.data/apflow.sqlite' },
  executors: { dirs: ['./executors'] },
  examples: { auto_init: false },
});
`,
    'executors/shout.ts': shout,
  });
  const [local, remote, wrong] = await Promise.all([
    project.cli(['executors', 'list']),
    project.cli(['executors', 'list', '--json'], { as: 'alice' }),
    project.cli(['executors', 'show']),
  ]);
  assert.equal(local.code, 0, local.stderr);
  assert.equal(remote.code, 0, remote.stderr);
  type Listed = { count: number; executors: { id: string; description: string; source: string; loaded_at?: string }[] };
  // When each process loaded its executors differs; everything else is the same.
  const loaded = (out: string) => {
    const listed = JSON.parse(out) as Listed;
    return { ...listed, executors: listed.executors.map(({ loaded_at: _, ...entry }) => entry) };
  };
  assert.deepEqual(loaded(remote.stdout), loaded(local.stdout));
  const listed = loaded(local.stdout);
  assert.equal(listed.count, listed.executors.length);
  const mine = listed.executors.find((entry) => entry.id === 'shout');
  assert.deepEqual([mine?.description, mine?.source], ['Shouts a name', 'executors folder']);
  assert.ok(
    listed.executors.some((entry) => entry.id === 'rest_executor'),
    'the built-in executors too',
  );
  assert.equal(wrong.code, 1);
  assert.equal(wrong.stderr, "apflow: unknown action 'executors show' (use one of: list) (APF_INVALID_PARAMS)\n");
});
