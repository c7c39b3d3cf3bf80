/**
 * A real Docker Engine for the tests, on a private socket: with Debian's docker.io and
 * busybox-static installed (test/install-engine.sh; the tests install nothing), starts `dockerd` with its own data and exec roots (vfs
 * storage, no bridge, no iptables), imports a busybox image built here (nothing can be pulled), and
 * proves a container runs. When this machine cannot run containers, {@link startEngine} answers
 * the precise reason instead, for the tests to skip with.
 * `APFLOW_TEST_DOCKER_SOCKET=/path` uses an Engine already running there (left running).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { engineCall } from './engine-http.ts';
import { machineReport } from './machine-report.ts';

/** The image the tests run: Debian's static busybox and a few applet links. */
export const TEST_IMAGE = 'apflow-test/busybox:1';
const APPLETS = ['sh', 'echo', 'cat', 'ls', 'sleep', 'env', 'pwd', 'true', 'false', 'head', 'yes', 'printf', 'wc'];
const BUSYBOX = '/bin/busybox';

/** A running Engine: its socket, and how to stop it (removing everything it stored). */
export interface TestEngine {
  socket: string;
  stop(): Promise<void>;
}

/** The Engine, or why there is none on this machine. */
export type EngineSetup = { engine: TestEngine; skip?: undefined } | { engine?: undefined; skip: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the tests need and lack, as a skip reason naming the script that installs it; undefined when all is there. */
export function missingPackages(): string | undefined {
  const missing = [
    ...(existsSync('/usr/sbin/dockerd') ? [] : ['docker.io']),
    ...(spawnSync('dpkg', ['-s', 'busybox-static']).status === 0 ? [] : ['busybox-static']),
  ];
  if (missing.length === 0) return undefined;
  return `${missing.join(' and ')} not installed: run extensions/docker/test/install-engine.sh (as root) first`;
}

async function waitForPing(socket: string, exited: () => boolean): Promise<boolean> {
  for (let i = 0; i < 240 && !exited(); i++) {
    const ping = await engineCall(socket, 'GET', '/_ping').catch(() => undefined);
    if (ping?.status === 200) return true;
    await sleep(250);
  }
  return false;
}

/** Imports {@link TEST_IMAGE} from a tarball of busybox and its applet links. */
async function importImage(socket: string, dir: string): Promise<void> {
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'tmp'));
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  for (const applet of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
  const tarball = join(dir, 'rootfs.tar');
  const tar = spawnSync('tar', ['-C', rootfs, '-cf', tarball, '.'], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  const [repo, tag] = TEST_IMAGE.split(':') as [string, string];
  const query = `fromSrc=-&repo=${encodeURIComponent(repo)}&tag=${tag}`;
  const answer = await engineCall(socket, 'POST', `/images/create?${query}`, {
    body: createReadStream(tarball),
    contentType: 'application/x-tar',
  });
  if (answer.status !== 200 || answer.text.includes('"error"')) throw new Error(`image import: ${answer.text}`);
}

/** Runs `true` in {@link TEST_IMAGE}: the Engine's own words when this machine cannot run a container. */
async function probeContainer(socket: string): Promise<string | undefined> {
  const body = {
    Image: TEST_IMAGE,
    Cmd: ['true'],
    Labels: { 'apflow.probe': '1' },
    HostConfig: { NetworkMode: 'none' },
  };
  const created = await engineCall(socket, 'POST', '/containers/create', { body });
  if (created.status !== 201) return `creating a container failed: ${created.text}`;
  const { Id: id } = JSON.parse(created.text) as { Id: string };
  try {
    const started = await engineCall(socket, 'POST', `/containers/${id}/start`);
    if (started.status !== 204) return `starting a container failed: ${started.text}`;
    const waited = await engineCall(socket, 'POST', `/containers/${id}/wait`);
    return JSON.parse(waited.text).StatusCode === 0 ? undefined : `the probe container failed: ${waited.text}`;
  } finally {
    await engineCall(socket, 'DELETE', `/containers/${id}?force=true`);
  }
}

/** Unmounts what the Engine left mounted under `dir` (its host network namespace stays bound in exec/netns). */
function unmountBelow(dir: string): void {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) spawnSync('umount', ['-l', point]);
}

/** Starts a private Engine with the test image, or says why this machine cannot. */
export async function startEngine(): Promise<EngineSetup> {
  const shared = process.env.APFLOW_TEST_DOCKER_SOCKET;
  if (shared) {
    const dir = mkdtempSync('/tmp/apflow-docker-image-');
    try {
      await importImage(shared, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return { engine: { socket: shared, stop: async () => undefined } };
  }
  const problem = missingPackages();
  if (problem) return { skip: `no Docker Engine: ${problem}` };
  // Short: the Engine's and containerd's sockets live under it (unix socket paths stop at 108 bytes).
  const dir = mkdtempSync('/tmp/apflow-dockerd-');
  const socket = join(dir, 'docker.sock');
  writeFileSync(join(dir, 'daemon.json'), '{}');
  const log = join(dir, 'dockerd.log');
  const daemon = spawn(
    '/usr/sbin/dockerd',
    [
      ...['--host', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec')],
      ...['--pidfile', join(dir, 'dockerd.pid'), '--config-file', join(dir, 'daemon.json')],
      ...['--storage-driver', 'vfs', '--bridge', 'none', '--iptables=false', '--ip6tables=false'],
      ...['--ip-forward=false', '--ip-masq=false', '--containerd-namespace', `apflow-test-${process.pid}`],
      ...['--containerd-plugins-namespace', `apflow-test-plugins-${process.pid}`],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const logged: string[] = [];
  daemon.stderr.setEncoding('utf8').on('data', (text: string) => logged.push(text));
  let gone = false;
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => ((gone = true), resolve())));
  daemon.once('error', () => (gone = true));
  const stop = async () => {
    if (!gone) daemon.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
    if (!gone) daemon.kill('SIGKILL');
    writeFileSync(log, logged.join(''));
    unmountBelow(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  const tail = () =>
    logged
      .join('')
      .split('\n')
      .filter((line) => /level=(error|fatal)|failed/i.test(line))
      .slice(-5)
      .join('\n');
  if (!(await waitForPing(socket, () => gone))) {
    const why = `dockerd did not start: ${tail() || '(no error logged)'}; machine: ${machineReport()}`;
    await stop();
    return { skip: why };
  }
  try {
    await importImage(socket, dir);
    const failure = await probeContainer(socket);
    if (failure) {
      await stop();
      return { skip: `this machine cannot run containers: ${failure}; machine: ${machineReport()}` };
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { engine: { socket, stop } };
}
