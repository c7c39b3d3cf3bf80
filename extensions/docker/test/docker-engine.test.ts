/**
 * docker_executor against a real Docker Engine (test/engine.ts starts a private one and imports a
 * busybox image). Skipped, with the precise reason, on a machine that cannot run containers.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { App } from 'apflow';
import { eventually, memoryLog, started } from '../../../test/helpers.ts';
import { completed, dockerApp, failed, runOne, tempDir, type DockerResult, type Json } from './docker-setup.ts';
import { delayProxy } from './delay-proxy.ts';
import { startEngine, TEST_IMAGE } from './engine.ts';
import { containersLabelled, engineCall, inspectContainer } from './engine-http.ts';
import { dropImage, startRegistry } from './registry.ts';

const setup = await startEngine();
const socket = setup.engine?.socket ?? '';
const settings = { enabled: true, images: ['apflow-test/busybox:*'], socket };

/** Runs one docker_executor task to its end and returns its result (it must have completed). */
async function run(app: App, inputs: Json): Promise<DockerResult> {
  return completed<DockerResult>(await runOne(app, 'docker_executor', { image: TEST_IMAGE, ...inputs }));
}

/** Starts a long task; resolves once its container runs, with the task id and the run's end. */
async function startLong(app: App, inputs: Json, params: Json = {}) {
  const tree = await app.engine.createTree([
    { name: 'long', schemas: { method: 'docker_executor' }, inputs: { image: TEST_IMAGE, ...inputs }, params },
  ]);
  const { done } = started(await app.engine.execute(tree.id));
  const [id] = await eventually(async () => {
    const ids = await containersLabelled(socket, 'apflow.task_id', tree.id);
    const state = ids[0] === undefined ? undefined : await inspectContainer(socket, ids[0]);
    return (state?.State as { Running?: boolean } | undefined)?.Running ? ids : undefined;
  }, 30_000);
  return { taskId: tree.id, containerId: id as string, done };
}

describe('docker_executor on a real Docker Engine', { skip: setup.skip ?? false }, () => {
  after(() => setup.engine?.stop());

  test("a command's output and exit code; the container is removed", async (t) => {
    const app = await dockerApp(t, settings);
    const result = await run(app, { command: ['echo', 'hello', 'world'] });
    assert.equal(result.exit_code, 0);
    assert.equal(result.success, true);
    assert.equal(result.stdout, 'hello world\n');
    assert.equal(result.stderr, '');
    assert.equal(result.logs, 'hello world\n');
    assert.equal(result.truncated, false);
    assert.equal(result.image, TEST_IMAGE);
    assert.match(result.container_id, /^[0-9a-f]{64}$/);
    assert.equal(await inspectContainer(socket, result.container_id), undefined, 'removed (remove defaults to true)');
  });

  test('a failing command completes with success false, its exit code, stdout and stderr apart', async (t) => {
    const app = await dockerApp(t, settings);
    const result = await run(app, { command: 'echo out; echo err >&2; echo more; exit 7' });
    assert.equal(result.exit_code, 7);
    assert.equal(result.success, false);
    assert.equal(result.stdout, 'out\nmore\n');
    assert.equal(result.stderr, 'err\n');
    assert.equal(result.logs.length, 'out\nerr\nmore\n'.length);
    for (const line of ['out', 'err', 'more']) assert.match(result.logs, new RegExp(`^${line}$`, 'm'));
  });

  test('env (object or list) and working_dir reach the container', async (t) => {
    const app = await dockerApp(t, settings);
    const result = await run(app, {
      command: 'echo "$GREETING $N $FLAG $(pwd)"',
      env: { GREETING: 'hi there', N: 2, FLAG: true },
      working_dir: '/tmp',
    });
    assert.equal(result.stdout, 'hi there 2 true /tmp\n');
    const listed = await run(app, { command: ['sh', '-c', 'echo "$A/$B"'], env: ['A=1', 'B=x=y'] });
    assert.equal(listed.stdout, '1/x=y\n');
  });

  test('an allowed mount is read; read-only is enforced; rw writes reach the host', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'input.txt'), 'from the host\n');
    const app = await dockerApp(t, { ...settings, mounts: [dir] });
    const read = await run(app, { command: 'cat /data/input.txt', volumes: [`${dir}:/data:ro`] });
    assert.equal(read.stdout, 'from the host\n');
    const refused = await run(app, { command: 'echo x > /data/nope.txt', volumes: [`${dir}:/data:ro`] });
    assert.notEqual(refused.exit_code, 0);
    assert.match(refused.stderr, /Read-only file system/);
    assert.equal(existsSync(join(dir, 'nope.txt')), false);
    await run(app, { command: 'echo written > /out/result.txt', volumes: { [dir]: { bind: '/out', mode: 'rw' } } });
    assert.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), 'written\n');
  });

  test('containers have no network unless docker.network says otherwise', async (t) => {
    const app = await dockerApp(t, settings);
    const none = await run(app, { command: 'ls /sys/class/net' });
    assert.deepEqual(none.stdout.split(/\s+/).filter(Boolean), ['lo'], 'only loopback: no way out');
    const host = await dockerApp(t, { ...settings, network: 'host' });
    const shared = await run(host, { command: 'ls /sys/class/net' });
    assert.ok(shared.stdout.split(/\s+/).filter(Boolean).length > 1, `host interfaces: ${shared.stdout}`);
  });

  test('a docker.network the Engine does not have fails the run with its words', async (t) => {
    const app = await dockerApp(t, { ...settings, network: 'apflow-absent' });
    const error = failed(await runOne(app, 'docker_executor', { image: TEST_IMAGE, command: 'true' }));
    assert.match(error, /^docker_executor: the Docker Engine answered 404 for apflow-test\/busybox:1: .*apflow-absent/);
  });

  test('resources and remove: false: limits are set, the container is kept', async (t) => {
    const app = await dockerApp(t, settings);
    const result = await run(app, { command: 'true', remove: false, resources: { cpu: 0.5, memory: '64m' } });
    t.after(() => engineCall(socket, 'DELETE', `/containers/${result.container_id}?force=true`));
    const kept = await inspectContainer(socket, result.container_id);
    assert.ok(kept, 'kept');
    const host = kept.HostConfig as Json;
    assert.equal(host.Memory, 64 * 1024 * 1024);
    assert.equal(host.NanoCpus, 500_000_000);
    assert.equal(host.NetworkMode, 'none');
    assert.equal(host.Privileged, false);
    assert.equal((kept.State as { Running: boolean }).Running, false);
  });

  test('every container gets the config limits: pids, memory, CPUs, and a log file capped on disk', async (t) => {
    const app = await dockerApp(t, { ...settings, pids_limit: 32, max_memory: '128m', max_cpus: 0.25 });
    const { taskId, containerId, done } = await startLong(app, { command: 'sleep 300' });
    const host = (await inspectContainer(socket, containerId))?.HostConfig as Json;
    await app.engine.cancel([taskId]);
    await done;
    assert.equal(host.PidsLimit, 32);
    assert.equal(host.Memory, 128 * 1024 * 1024);
    assert.equal(host.MemorySwap, 128 * 1024 * 1024);
    assert.equal(host.NanoCpus, 250_000_000);
    assert.deepEqual(host.LogConfig, { Type: 'json-file', Config: { 'max-file': '1', 'max-size': '2097152' } });
  });

  test('output past docker.max_log_bytes is cut and marked truncated', async (t) => {
    const app = await dockerApp(t, { ...settings, max_log_bytes: 1024 });
    const result = await run(app, { command: 'yes 0123456789 | head -c 100000; echo done >&2' });
    assert.equal(result.truncated, true);
    assert.equal(result.log_limit_bytes, 1024);
    assert.equal(Buffer.byteLength(result.logs), 1024);
    assert.equal(result.exit_code, 0, 'the container still ran to its end');
  });

  test('timeout: the task fails saying so, and the container is killed and removed', async (t) => {
    const app = await dockerApp(t, settings);
    const row = await runOne(app, 'docker_executor', { image: TEST_IMAGE, command: 'sleep 300', timeout: 1 });
    assert.match(
      failed(row),
      /did not finish within 1s \(timeout; the pull counts too\) while the container ran; it was killed and removed/,
    );
    assert.deepEqual(await containersLabelled(socket, 'apflow.task_id', row.id), [], 'gone when the task failed');
  });

  test('cancel kills and removes the running container', async (t) => {
    const app = await dockerApp(t, settings);
    const { taskId, containerId, done } = await startLong(app, { command: 'sleep 300' });
    await app.engine.cancel([taskId]);
    await done;
    assert.equal((await app.tasks.get(taskId))?.status, 'cancelled');
    await eventually(async () => (await inspectContainer(socket, containerId)) === undefined, 30_000);
    assert.deepEqual(await containersLabelled(socket, 'apflow.task_id', taskId), []);
  });

  test("the task's own timeout (params.timeout_s) also removes the container", async (t) => {
    const app = await dockerApp(t, settings);
    const { taskId, containerId, done } = await startLong(app, { command: 'sleep 300' }, { timeout_s: 2 });
    await done;
    assert.match(String((await app.tasks.get(taskId))?.error), /Timeout/);
    await eventually(async () => (await inspectContainer(socket, containerId)) === undefined, 30_000);
  });

  test('cancel while the Engine creates the container: the container it made is removed', async (t) => {
    const proxy = await delayProxy(t, socket, 'POST /v1.41/containers/create', 3000);
    const app = await dockerApp(t, { ...settings, socket: proxy.socket });
    const tree = await app.engine.createTree([
      { name: 'c', schemas: { method: 'docker_executor' }, inputs: { image: TEST_IMAGE, command: 'sleep 300' } },
    ]);
    const { done } = started(await app.engine.execute(tree.id));
    await proxy.answered; // the Engine has made the container; the executor does not know its id yet
    assert.equal((await containersLabelled(socket, 'apflow.task_id', tree.id)).length, 1, 'created');
    await app.engine.cancel([tree.id]);
    await done;
    await eventually(async () => (await containersLabelled(socket, 'apflow.task_id', tree.id)).length === 0, 30_000);
  });

  test('timeout while the container is being created: says so, and the container is removed', async (t) => {
    const proxy = await delayProxy(t, socket, 'POST /v1.41/containers/create', 3000);
    const app = await dockerApp(t, { ...settings, socket: proxy.socket });
    const row = await runOne(app, 'docker_executor', { image: TEST_IMAGE, command: 'sleep 300', timeout: 1 });
    assert.match(
      failed(row),
      /within 1s \(timeout; the pull counts too\) while the container was being created; it was removed before it started/,
    );
    assert.deepEqual(await containersLabelled(socket, 'apflow.task_id', row.id), []);
  });

  test('timeout during the pull: says the pull was stopped and no container was made', async (t) => {
    const proxy = await delayProxy(t, socket, 'POST /v1.41/images/create', 4000);
    const app = await dockerApp(t, { ...settings, socket: proxy.socket });
    const row = await runOne(app, 'docker_executor', { image: 'apflow-test/busybox:absent', timeout: 1 });
    const error = failed(row);
    assert.match(
      error,
      /within 1s \(timeout; the pull counts too\) while pulling apflow-test\/busybox:absent: the pull was stopped \(its connection closed\) and no container was created$/,
    );
    assert.doesNotMatch(error, /killed/);
  });

  test('mounts are checked again right before the create: a folder swapped for a symlink meanwhile is refused', async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'ro', 'sub'), { recursive: true });
    mkdirSync(join(dir, 'outside'));
    writeFileSync(join(dir, 'outside', 'secret.txt'), 'host secret');
    // The image check (before the create) is held back: the swap happens inside that gap.
    const proxy = await delayProxy(t, socket, 'GET /v1.41/images/', 2000);
    const app = await dockerApp(t, {
      ...settings,
      socket: proxy.socket,
      mounts: [{ path: join(dir, 'ro'), read_only: true }],
    });
    const tree = await app.engine.createTree([
      {
        name: 'm',
        schemas: { method: 'docker_executor' },
        inputs: { image: TEST_IMAGE, command: 'cat /data/secret.txt', volumes: [`${join(dir, 'ro', 'sub')}:/data`] },
      },
    ]);
    const { done } = started(await app.engine.execute(tree.id));
    await proxy.answered;
    renameSync(join(dir, 'ro', 'sub'), join(dir, 'ro', 'old'));
    symlinkSync(join(dir, 'outside'), join(dir, 'ro', 'sub'));
    await done;
    const row = (await app.tasks.tree(tree.id))[0] as never;
    assert.match(failed(row), /mounting '.*\/ro\/sub' \(.*\/outside\) is not allowed: it is not inside docker.mounts/);
    assert.deepEqual(await containersLabelled(socket, 'apflow.task_id', tree.id), []);
  });

  test("pull: 'never' with an absent image is NOT_FOUND; a pull the registry cannot answer fails saying so", async (t) => {
    const app = await dockerApp(t, settings);
    const never = failed(await runOne(app, 'docker_executor', { image: 'apflow-test/busybox:absent', pull: 'never' }));
    assert.match(never, /the image 'apflow-test\/busybox:absent' is not on the Docker Engine and pull is 'never'/);
    const pulled = failed(await runOne(app, 'docker_executor', { image: 'apflow-test/busybox:absent' }));
    assert.match(pulled, /^docker_executor: pulling 'apflow-test\/busybox:absent' failed: /);
  });

  test("pull: 'missing' pulls from the registry the image names, with progress; 'always' pulls again", async (t) => {
    const registry = await startRegistry(t, socket);
    if (registry.host === undefined) return t.skip(registry.skip);
    const image = `${registry.host}/${TEST_IMAGE}`;
    const app = await dockerApp(t, { ...settings, images: [`${registry.host}/*`] });
    const progress: string[] = [];
    t.after(app.engine.subscribe((event) => (event.type === 'progress' ? progress.push(event.message ?? '') : 0)));
    await dropImage(socket, image);
    t.after(() => dropImage(socket, image));
    const pulled = await run(app, { image, command: 'echo pulled' });
    assert.equal(pulled.stdout, 'pulled\n');
    assert.ok(progress.includes(`docker_executor: pulling ${image}`), progress.join(' | '));
    assert.ok(progress.some((message) => message.startsWith(`docker_executor: pulling ${image}: Status: Downloaded`)));
    assert.ok(progress.some((message) => message.startsWith('docker_executor: running in container ')));
    progress.length = 0;
    await run(app, { image, command: 'true' });
    assert.equal(progress.filter((message) => message.includes('pulling')).length, 0, "'missing': present, no pull");
    await run(app, { image, command: 'true', pull: 'always' });
    assert.ok(progress.includes(`docker_executor: pulling ${image}`), "'always' pulls again");
    const absent = failed(await runOne(app, 'docker_executor', { image: `${registry.host}/apflow-test/absent:1` }));
    assert.match(absent, /^docker_executor: pulling '127\.0\.0\.1:\d+\/apflow-test\/absent:1' failed: .*not found/);
  });

  test('a secret_env value is used, but stored sealed and never in the result, the database or the log', async (t) => {
    const dir = tempDir(t);
    const log = memoryLog();
    const database = join(dir, 't.db');
    const secret = 'tok-9f8e7d6c5b4a-SECRET';
    const app = await dockerApp(
      t,
      settings,
      { database: { url: `sqlite:${database}` }, log: { level: 'debug' } },
      { logStream: log.stream },
    );
    const result = await run(app, { command: 'echo "token=$TOKEN"; test -n "$TOKEN"', secret_env: { TOKEN: secret } });
    assert.equal(result.exit_code, 0, 'the container got the value');
    assert.equal(result.stdout, 'token=***\n');
    for (const file of [database, `${database}-wal`].filter((path) => existsSync(path))) {
      assert.equal(readFileSync(file).includes(secret), false, `${file} holds the secret`);
    }
    assert.equal(log.text().includes(secret), false, 'the log holds the secret');
  });
});
