/**
 * A real image registry for the pull tests: Debian's docker-registry (the CNCF distribution
 * registry) on 127.0.0.1 (which the Engine reaches without TLS by default), holding
 * {@link TEST_IMAGE} pushed there by the test Engine. Skipped when the package is missing (test/install-engine.sh).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { eventually, freePort } from '../../../test/helpers.ts';
import { TEST_IMAGE } from './engine.ts';
import { engineCall } from './engine-http.ts';

const REGISTRY = '/usr/bin/docker-registry';
// The push endpoint wants credentials even for a registry without any: an empty JSON object.
const NO_AUTH = { 'x-registry-auth': Buffer.from('{}').toString('base64') };

/** Starts a registry for this test; answers `host:port`, or why it could not. */
export async function startRegistry(t: TestContext, socket: string): Promise<{ host?: string; skip?: string }> {
  if (!existsSync(REGISTRY))
    return { skip: 'docker-registry not installed: run extensions/docker/test/install-engine.sh (as root) first' };
  const dir = mkdtempSync('/tmp/apflow-registry-');
  const host = `127.0.0.1:${await freePort()}`;
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: ${host}\n`,
  );
  const registry = spawn(REGISTRY, ['serve', config], { stdio: 'ignore' });
  const exited = new Promise((resolve) => registry.once('exit', resolve));
  t.after(async () => {
    registry.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  await eventually(async () => (await fetch(`http://${host}/v2/`)).ok, 30_000);

  const [name, tag] = TEST_IMAGE.split(':') as [string, string];
  const remote = `${host}/${name}`;
  const tagged = await engineCall(socket, 'POST', `/images/${TEST_IMAGE}/tag?repo=${remote}&tag=${tag}`);
  if (tagged.status !== 201) throw new Error(`tagging: ${tagged.text}`);
  const pushed = await engineCall(socket, 'POST', `/images/${remote}/push?tag=${tag}`, { headers: NO_AUTH });
  if (pushed.status !== 200 || pushed.text.includes('"error"')) throw new Error(`pushing: ${pushed.text}`);
  return { host };
}

/** Removes `image` from the Engine (so that running it needs a pull). */
export async function dropImage(socket: string, image: string): Promise<void> {
  const answer = await engineCall(socket, 'DELETE', `/images/${image}`);
  if (answer.status !== 200 && answer.status !== 404) throw new Error(`removing ${image}: ${answer.text}`);
}
