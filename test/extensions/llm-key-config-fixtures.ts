import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { repoRoot, rpc, tempProject } from '../helpers.ts';
import { installExtension } from './install-extension.ts';

/** The extension's source folder. */
export const extensionDir = join(repoRoot, 'extensions', 'llm-key-config');
/** Its package name, as a config names it. */
export const PACKAGE = '@apflow/llm-key-config';
/** The module type of the package (the tests import it from the installed copy). */
export type Extension = typeof import('../../extensions/llm-key-config/src/index.ts');

/**
 * A user's project with the extension installed in its node_modules as npm lays it out (a copy
 * of the package, ioredis beside it, apflow linked): `apflow` resolves from there, as in a real
 * app. (The pack test installs the real `npm pack` tarball instead.) `files` are written too.
 */
export function projectWithExtension(t: TestContext, files: Record<string, string> = {}): string {
  const dir = tempProject(t, files);
  installExtension(dir, 'llm-key-config', PACKAGE, ['ioredis']);
  return dir;
}

/** The installed extension's module (for `LLMKeyConfigManager` on its own). */
export async function importExtension(dir: string): Promise<Extension> {
  return (await import(join(dir, 'node_modules', '@apflow', 'llm-key-config', 'src', 'index.ts'))) as Extension;
}

/** A JSON-RPC answer. */
export interface Envelope {
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

/** Calls a `/system` method; returns the envelope and the raw body text (to look for keys in). */
export async function system(url: string, method: string, params: unknown, headers: Record<string, string> = {}) {
  const answer = await rpc(url, '/system', { jsonrpc: '2.0', id: 1, method, params }, headers);
  return { status: answer.status, body: answer.body as Envelope, text: JSON.stringify(answer.body) };
}

/** The result of a successful call (fails the test on an error). */
export function ok(answer: { body: Envelope }, what: string): Record<string, unknown> {
  assert.equal(answer.body.error, undefined, `${what}: ${JSON.stringify(answer.body.error)}`);
  return answer.body.result as Record<string, unknown>;
}

/**
 * An executor that asks for an OpenAI key and, when it gets one, sends it to `inputs.to` in an
 * Authorization header (as a real LLM client would); its result says only whether it found one.
 */
export const keyProbeExecutor = `import { defineExecutor } from 'apflow';
export default defineExecutor({
  id: 'key_probe',
  async execute(inputs: { to: string; provider?: string }, ctx) {
    const key = await ctx.resolveKey(inputs.provider ?? 'openai');
    if (key !== undefined) {
      await fetch(inputs.to, {
        method: 'POST',
        headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' },
        body: JSON.stringify({ task_id: ctx.task_id, user_id: ctx.user_id }),
      });
    }
    return { found: key !== undefined };
  },
});`;

/** Runs one key_probe task with `tasks.execute` and returns its answer. */
export async function probe(
  url: string,
  to: string,
  options: { user_id?: string; headers?: Record<string, string>; provider?: string } = {},
) {
  const task = {
    name: 'probe',
    schemas: { method: 'key_probe' },
    inputs: { to, ...(options.provider ? { provider: options.provider } : {}) },
    ...(options.user_id ? { user_id: options.user_id } : {}),
  };
  const answer = await rpc(
    url,
    '/tasks',
    { jsonrpc: '2.0', id: 1, method: 'tasks.execute', params: { tasks: [task] } },
    options.headers,
  );
  const body = answer.body as Envelope;
  assert.equal(body.error, undefined, `tasks.execute: ${JSON.stringify(body.error)}`);
  const result = body.result as { status: string; result?: unknown; error?: string };
  assert.equal(result.status, 'completed', `probe run: ${JSON.stringify(result)}`);
  return { answer: result, text: JSON.stringify(body) };
}

/** Fails when any of `keys` occurs in `haystack` (named `what`). */
export function assertNoKeys(haystack: string | Buffer, keys: readonly string[], what: string): void {
  const text = typeof haystack === 'string' ? haystack : haystack.toString('latin1');
  for (const key of keys) assert.ok(!text.includes(key), `${what} holds a key (${key.slice(0, 6)}…)`);
}

/** Every file of an SQLite database (main file, WAL and shared memory) concatenated. */
export function sqliteBytes(dir: string, name: string): Buffer {
  const files = readdirSync(dir).filter((file) => file.startsWith(name));
  assert.ok(files.includes(name), `the database file ${name} exists`);
  return Buffer.concat(files.map((file) => readFileSync(join(dir, file))));
}
