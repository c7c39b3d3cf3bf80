import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, repoRoot, spawnApflow, tempProject, waitListening } from '../helpers.ts';

const unit = readFileSync(join(repoRoot, 'deploy', 'apflow.service'), 'utf8');
const dockerfile = readFileSync(join(repoRoot, 'deploy', 'Dockerfile'), 'utf8');
const setting = (text: string, key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1]?.trim();
/** A Dockerfile instruction's arguments, continuation lines joined. */
const instruction = (name: string) =>
  new RegExp(`^${name}\\s+(.*)$`, 'm').exec(dockerfile.replace(/\\\n\s*/g, ' '))?.[1]?.trim();

/** ExecStart as an argv, and the folder it runs in. */
const execStart = (setting(unit, 'ExecStart') ?? '').split(/\s+/);
const workDir = setting(unit, 'WorkingDirectory') ?? '';

test("the Docker image's CMD is the systemd unit's command; the image runs as a user without privileges and checks /health", () => {
  const cmd = JSON.parse(instruction('CMD') ?? '[]') as string[];
  const workdir = instruction('WORKDIR') ?? '';
  // node on the PATH is /usr/bin/node; a relative script is under WORKDIR.
  const resolved = cmd.map((arg, i) =>
    i === 0 && arg === 'node' ? '/usr/bin/node' : arg.startsWith('bin/') ? `${workdir}/${arg}` : arg,
  );
  assert.deepEqual(resolved, execStart);
  assert.equal(workdir, workDir);
  assert.equal(instruction('USER'), 'apflow');
  assert.equal(setting(unit, 'User'), 'apflow');
  assert.match(instruction('HEALTHCHECK') ?? '', /\/health/);
  assert.equal(instruction('EXPOSE'), execStart[execStart.indexOf('--port') + 1]);
});

test("the systemd unit's ExecStart command runs (the install folder mapped to this checkout, a free port for 8000) and stops cleanly on SIGTERM", async (t) => {
  const data = tempProject(t);
  const port = String(await freePort());
  const argv = execStart
    .map((arg) => (arg === '/usr/bin/node' ? process.execPath : arg.replace(workDir, repoRoot)))
    .map((arg, i, all) => (all[i - 1] === '--port' ? port : arg));
  assert.equal(argv[0], process.execPath);
  const server = spawnApflow(argv.slice(2), {
    bin: argv[1],
    cwd: repoRoot,
    env: { NODE_ENV: 'production', APFLOW_DATABASE_URL: `sqlite:${join(data, 'apflow.sqlite')}` },
  });
  t.after(() => server.child.kill('SIGKILL'));
  const url = await waitListening(server);
  assert.ok(url.endsWith(`:${port}`), url);
  const health = await fetch(`${url}/health`);
  assert.equal(health.status, 200);
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
  // NODE_ENV=production: JSON log lines, not the readable format.
  assert.ok(
    server
      .stdout()
      .split('\n')
      .filter(Boolean)
      .every((line) => line.startsWith('{')),
    server.stdout().slice(0, 300),
  );
});
