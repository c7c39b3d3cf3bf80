/**
 * docker_executor's refusals, which come before any call to the Engine: these run on any machine.
 * Runs that pass every check are pointed at a socket nobody listens on, so they fail saying so.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { started } from '../../../test/helpers.ts';
import { completed, dockerApp, failed, NO_ENGINE, runOne, type DockerResult } from './docker-setup.ts';

const IMAGE = 'apflow-test/busybox:1';
const enabled = { enabled: true, images: ['apflow-test/busybox:*'], socket: NO_ENGINE };
const unreachable = new RegExp(`cannot reach the Docker Engine at ${NO_ENGINE} \\(no such socket\\)`);

/** A temp folder with `allowed/` (holding a file and a link out) and `outside/`. */
function folders(t: TestContext) {
  const root = mkdtempSync(join(tmpdir(), 'apflow-docker-mounts-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const allowed = join(root, 'allowed');
  const outside = join(root, 'outside');
  mkdirSync(join(allowed, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'host secret');
  symlinkSync(outside, join(allowed, 'link'));
  return { root, allowed, outside };
}

describe('docker_executor policy', () => {
  test('disabled by default: APF_FORBIDDEN naming docker.enabled, even for an allowed image', async (t) => {
    const app = await dockerApp(t, undefined);
    const error = failed(await runOne(app, 'docker_executor', { image: IMAGE, command: 'echo hi' }));
    assert.match(error, /^docker_executor is disabled/);
    assert.match(error, /docker: \{ enabled: true/);
    const stillOff = await dockerApp(t, { images: [IMAGE], socket: NO_ENGINE });
    assert.match(failed(await runOne(stillOff, 'docker_executor', { image: IMAGE })), /docker_executor is disabled/);
  });

  test('images outside docker.images are refused; exact names and name:* patterns are allowed', async (t) => {
    const empty = await dockerApp(t, { enabled: true, socket: NO_ENGINE });
    assert.match(
      failed(await runOne(empty, 'docker_executor', { image: IMAGE })),
      /the image 'apflow-test\/busybox:1' is not in docker.images \(the list is empty\); an administrator must add it/,
    );
    const app = await dockerApp(t, { ...enabled, images: ['apflow-test/busybox:*', 'alpine'] });
    for (const image of ['apflow-test/busyboxx:1', 'busybox:1', 'alpine:3.20', 'evil/apflow-test/busybox:1']) {
      const error = failed(await runOne(app, 'docker_executor', { image, command: 'true' }));
      assert.match(error, /is not in docker.images \(allowed: apflow-test\/busybox:\*, alpine\)/, image);
    }
    // Allowed: they pass the policy and fail only on the missing Engine.
    for (const image of [IMAGE, 'apflow-test/busybox:2', 'alpine', 'alpine:latest']) {
      assert.match(failed(await runOne(app, 'docker_executor', { image, command: 'true' })), unreachable, image);
    }
  });

  test('mounts outside docker.mounts are refused after resolving .. and symlinks', async (t) => {
    const { root, allowed, outside } = folders(t);
    const app = await dockerApp(t, { ...enabled, mounts: [allowed, { path: join(root, 'ro'), read_only: true }] });
    mkdirSync(join(root, 'ro'));
    const run = (volumes: unknown) => runOne(app, 'docker_executor', { image: IMAGE, command: 'true', volumes });
    const refusals: [unknown, RegExp][] = [
      [[`${outside}:/data`], /mounting '.*outside' is not allowed: it is not inside docker.mounts/],
      [[`${allowed}/../outside:/data:ro`], /mounting '.*allowed\/\.\.\/outside' \(.*\/outside\) is not allowed/],
      [{ [join(allowed, 'link')]: { bind: '/data', mode: 'ro' } }, /'.*allowed\/link' \(.*\/outside\) is not allowed/],
      [[`${allowed}/link/secret.txt:/s`], /\(.*\/outside\/secret.txt\) is not allowed/],
      [['/:/host'], /mounting '\/' is not allowed/],
      [[`${allowed}/missing:/data`], /the host path '.*allowed\/missing' does not exist \(it is never created\)/],
      [[`${join(root, 'ro')}:/data:rw`], /may only be mounted read-only \(docker.mounts says read_only\)/],
    ];
    for (const [volumes, expected] of refusals) {
      const error = failed(await run(volumes));
      assert.match(error, /^docker_executor: /);
      assert.match(error, expected, JSON.stringify(volumes));
    }
    assert.match(failed(await run(['relative:/data'])), /host path 'relative' must be absolute/);
    assert.match(failed(await run([`${allowed}:data`])), /container path 'data' must be an absolute path/);
    // Allowed: the folder itself, below it (.. that stays inside), and the read-only root read-only.
    for (const volumes of [
      [`${allowed}:/data`],
      [`${allowed}/sub/..:/data:ro`],
      { [join(allowed, 'sub')]: '/data' },
      [`${join(root, 'ro')}:/data`],
    ]) {
      assert.match(failed(await run(volumes)), unreachable, JSON.stringify(volumes));
    }
  });

  test('use_demo gives a demo result without reaching any Engine', async (t) => {
    const app = await dockerApp(t, enabled);
    const tree = await app.engine.createTree([
      { name: 'demo', schemas: { method: 'docker_executor' }, inputs: { image: 'alpine', command: 'uname -a' } },
    ]);
    await started(await app.engine.execute(tree.id, { demo: true })).done;
    const result = completed<DockerResult>((await app.tasks.tree(tree.id))[0] as never);
    assert.equal(result.demo_mode, true);
    assert.equal(result.exit_code, 0);
    assert.equal(result.image, 'alpine:latest');
    assert.match(result.logs, /\[demo\] docker_executor did not run alpine:latest/);
  });

  test('the socket: docker.socket, else DOCKER_HOST (unix:// only)', async (t) => {
    const viaEnv = await dockerApp(
      t,
      { enabled: true, images: [IMAGE] },
      {},
      {
        env: { DOCKER_HOST: 'unix:///nonexistent/from-env.sock' },
      },
    );
    assert.match(
      failed(await runOne(viaEnv, 'docker_executor', { image: IMAGE })),
      /cannot reach the Docker Engine at \/nonexistent\/from-env.sock/,
    );
    const tcp = await dockerApp(
      t,
      { enabled: true, images: [IMAGE] },
      {},
      { env: { DOCKER_HOST: 'tcp://10.0.0.1:2375' } },
    );
    assert.match(
      failed(await runOne(tcp, 'docker_executor', { image: IMAGE })),
      /DOCKER_HOST=tcp:\/\/… is not supported \(unix sockets only\); set docker.socket/,
    );
  });

  test('inputs are checked: a bad image reference, env name or memory size fails before any run', async (t) => {
    const app = await dockerApp(t, enabled);
    assert.match(failed(await runOne(app, 'docker_executor', { image: '-rm /' })), /Invalid inputs.*image/);
    assert.match(
      failed(await runOne(app, 'docker_executor', { image: IMAGE, env: { 'A-B': 'x' } })),
      /env name 'A-B' is not a variable name/,
    );
    assert.match(
      failed(await runOne(app, 'docker_executor', { image: IMAGE, resources: { memory: '1k' } })),
      /resources.memory must be at least 6m/,
    );
    assert.match(
      failed(await runOne(app, 'docker_executor', { image: IMAGE, timeout: 7200 })),
      /timeout 7200s is over docker.max_timeout \(3600s\)/,
    );
  });
});
