import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp, isRecord } from 'apflow';
import { parse } from 'yaml';
import { writeFiles } from '../helpers.ts';
import type { CodeBlock } from './extract-blocks.ts';

const quiet = () => new Writable({ write: (_chunk, _encoding, done) => done() });

/**
 * Loads a YAML block as a server's configuration file (`apflow.config.yaml` in a folder of its
 * own), plugins and all, without listening. A database other than SQLite is replaced by a SQLite
 * file there (the environment wins over the file). Resolves with the loaded config's keys.
 */
export async function loadYamlConfig(root: string, block: CodeBlock): Promise<string[]> {
  const parsed: unknown = parse(block.body);
  if (!isRecord(parsed)) throw new Error('a configuration must be a mapping');
  const dir = join(root, `${block.file.replace(/\.md$/, '').replaceAll('/', '-')}-yaml-L${block.line}`);
  writeFiles(dir, { 'apflow.config.yaml': block.body });
  const database = isRecord(parsed.database) ? parsed.database.url : undefined;
  const env: Record<string, string> = {};
  if (typeof database === 'string' && !database.startsWith('sqlite:')) {
    env.APFLOW_DATABASE_URL = `sqlite:${join(dir, '.data', 'apflow.sqlite')}`;
  }
  const app = await createApp({ cwd: dir, env, logStream: quiet() });
  try {
    return Object.keys(app.config);
  } finally {
    await app.close();
  }
}

/** Where a JSON-RPC method is served: `tasks.*` on /tasks, `system.*` and `config.*` on /system, the rest on /. */
export function endpointOf(method: string): string {
  if (method.startsWith('tasks.') || method.startsWith('schedules.')) return '/tasks';
  if (method.startsWith('system.') || method.startsWith('config.')) return '/system';
  return '/';
}

/** The JSON-RPC request a parsed JSON block holds, or null when it is other JSON. */
export function rpcRequest(value: unknown): { method: string } | null {
  return isRecord(value) && value.jsonrpc === '2.0' && typeof value.method === 'string'
    ? { method: value.method }
    : null;
}

/** Sends a JSON-RPC block to `base`; resolves with the HTTP status and the parsed answer. */
export async function sendRpc(base: string, body: string, method: string) {
  const answer = await fetch(`${base}${endpointOf(method)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const parsed: unknown = JSON.parse(await answer.text());
  return { status: answer.status, answer: parsed, error: isRecord(parsed) && 'error' in parsed };
}
