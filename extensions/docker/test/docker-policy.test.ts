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

  test("images are read by Docker's rules: a registry port or host is not a tag, and * matches only a tag", async (t) => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const app = await dockerApp(t, {
      ...enabled,
      images: ['alpine:*', 'python:*', 'ghcr.io/acme/*', 'localhost:5000/*', 'busybox:1.36', 'acme/*'],
    });
    const refused = [
      'alpine:3/evil', // the registry 'alpine:3', repository 'evil'
      'python:5000/x/y:1', // the registry 'python:5000'
      'alpine.evil.com/alpine:3',
      'ghcr.io/acmeevil/app:1',
      'ghcr.io.evil.com/acme/app:1',
      'localhost:5001/x:1',
      'localhost/x:1',
      `busybox@${digest}`, // busybox:1.36 allows that tag, not any digest
      'busybox:1.36.1',
      'docker.io/acme', // 'acme' on Docker Hub is library/acme, not below acme/
    ];
    for (const image of refused) {
      const error = failed(await runOne(app, 'docker_executor', { image, command: 'true' }));
      assert.match(error, /is not in docker.images/, image);
    }
    const allowed = [
      'alpine:3.20',
      `alpine@${digest}`,
      'docker.io/library/alpine:edge',
      'index.docker.io/library/alpine',
      'library/python:3.12',
      'ghcr.io/acme/team/app:1',
      `ghcr.io/acme/app@${digest}`,
      'localhost:5000/anything/at/all:2',
      'docker.io/library/busybox:1.36',
      'acme/app:1',
      'docker.io/acme/app',
    ];
    for (const image of allowed) {
      assert.match(failed(await runOne(app, 'docker_executor', { image, command: 'true' })), unreachable, image);
    }
    const malformed = failed(await runOne(app, 'docker_executor', { image: 'alpine:-x' }));
    assert.match(malformed, /the image 'alpine:-x' is not a valid reference: the tag '-x' is not a tag/);
  });

  test('a malformed docker.images pattern fails the start, naming it', async (t) => {
    for (const pattern of ['alpine*', 'al*:1', 'alpine:3/*x', 'UPPER:*']) {
      await assert.rejects(dockerApp(t, { ...enabled, images: [pattern] }), (error: Error) => {
        assert.match(
          error.message,
          new RegExp(`docker.images: '${pattern.replace(/[*]/g, '\\*')}' is not an image pattern`),
        );
        return true;
      });
    }
  });

  test('remove: false with secret_env is refused: the kept container would show the secret', async (t) => {
    const app = await dockerApp(t, enabled);
    const error = failed(
      await runOne(app, 'docker_executor', { image: IMAGE, remove: false, secret_env: { TOKEN: 'secret-value-1' } }),
    );
    assert.match(
      error,
      /remove: false would keep the container, and the secret_env values in its config in plain text/,
    );
    assert.match(failed(await runOne(app, 'docker_executor', { image: IMAGE, remove: false })), unreachable);
  });

  test('timeouts and resources have maxima: the input, docker.max_timeout, docker.max_memory, docker.max_cpus', async (t) => {
    const app = await dockerApp(t, enabled);
    assert.match(
      failed(await runOne(app, 'docker_executor', { image: IMAGE, timeout: 3e9 })),
      /Invalid inputs.*timeout/,
    );
    await assert.rejects(dockerApp(t, { ...enabled, max_timeout: 3e9 }), /max_timeout/);
    const small = await dockerApp(t, { ...enabled, max_memory: '64m', max_cpus: 0.5 });
    const run = (resources: unknown) => runOne(small, 'docker_executor', { image: IMAGE, resources });
    assert.match(
      failed(await run({ memory: '65m' })),
      /resources.memory 65m is over docker.max_memory \(67108864 bytes\)/,
    );
    assert.match(failed(await run({ cpu: 1 })), /resources.cpu 1 is over docker.max_cpus \(0.5\)/);
    assert.match(failed(await run({ cpu: '0.5', memory: '64m' })), unreachable);
    assert.match(failed(await run(undefined)), unreachable);
  });

  test('mounts outside docker.mounts are refused after resolving .. and symlinks', async (t) => {
    const { root, allowed, outside } = folders(t);
    mkdirSync(join(root, 'ro', 'sub'), { recursive: true });
    const app = await dockerApp(t, {
      ...enabled,
      // The read-only entry inside the read-write one is ignored: a task could swap it for a symlink.
      mounts: [allowed, { path: join(root, 'ro'), read_only: true }, { path: join(allowed, 'sub'), read_only: true }],
    });
    const run = (volumes: unknown) => runOne(app, 'docker_executor', { image: IMAGE, command: 'true', volumes });
    const refusals: [unknown, RegExp][] = [
      [[`${outside}:/data`], /mounting '.*outside' is not allowed: it is not inside docker.mounts/],
      [[`${allowed}/../outside:/data:ro`], /mounting '.*allowed\/\.\.\/outside' \(.*\/outside\) is not allowed/],
      [{ [join(allowed, 'link')]: { bind: '/data', mode: 'ro' } }, /'.*allowed\/link' \(.*\/outside\) is not allowed/],
      [[`${allowed}/link/secret.txt:/s`], /\(.*\/outside\/secret.txt\) is not allowed/],
      [['/:/host'], /mounting '\/' is not allowed/],
      [[`${allowed}/missing:/data`], /the host path '.*allowed\/missing' does not exist \(it is never created\)/],
      [[`${join(root, 'ro')}:/data:rw`], /may only be mounted read-only \(docker.mounts says read_only\)/],
      [
        { [join(allowed, 'sub')]: '/data' },
        /is below the read-write docker.mounts entry '.*allowed', of which only the entry itself may be mounted/,
      ],
      [[`${join(allowed, 'sub')}:/data:ro`], /is below the read-write docker.mounts entry/],
    ];
    for (const [volumes, expected] of refusals) {
      const error = failed(await run(volumes));
      assert.match(error, /^docker_executor: /);
      assert.match(error, expected, JSON.stringify(volumes));
    }
    assert.match(failed(await run(['relative:/data'])), /host path 'relative' must be absolute/);
    assert.match(failed(await run([`${allowed}:data`])), /container path 'data' must be an absolute path/);
    // Allowed: the read-write entry itself (.. resolved), the read-only entry and what is below it.
    for (const volumes of [
      [`${allowed}:/data`],
      [`${allowed}/sub/..:/data:ro`],
      [`${join(root, 'ro')}:/data`],
      { [join(root, 'ro', 'sub')]: '/data' },
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
