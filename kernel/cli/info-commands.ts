import { ApflowError } from '../errors/apflow-error.ts';
import { version } from '../internal/version.ts';
import { openForCommand } from './open-tasks.ts';
import { printJson, printTable, wantsJson } from './print.ts';

/**
 * `apflow version` (the original's command): apflow's version, and the Node.js and platform it
 * runs on; JSON when piped or with `--json`.
 */
export function versionCommand(options: { json?: boolean }): void {
  const facts = { version, node: process.version, platform: `${process.platform}-${process.arch}` };
  if (wantsJson(options)) return printJson(facts);
  process.stdout.write(`apflow ${facts.version} (Node.js ${facts.node}, ${facts.platform})\n`);
}

/** One executor as `system.executors` answers it. */
interface ExecutorEntry {
  id: string;
  name: string;
  description: string;
  source: string;
}

/**
 * `apflow executors list`: the executors the configured project can run (its executor folders
 * and plugins), as `system.executors` on a server answers them; a table on a terminal, JSON
 * when piped or with `--json`.
 */
export async function executorsCommand(action: string, options: { config?: string; json?: boolean }): Promise<void> {
  if (action !== 'list')
    throw new ApflowError('APF_INVALID_PARAMS', { message: `unknown action 'executors ${action}' (use: list)` });
  const app = await openForCommand(options);
  try {
    const response = await app.inject({
      method: 'POST',
      url: '/system',
      headers: { 'content-type': 'application/json' },
      payload: { jsonrpc: '2.0', id: 1, method: 'system.executors', params: {} },
    });
    const body = response.json<{
      result?: { executors: ExecutorEntry[]; count: number };
      error?: { message: string };
    }>();
    if (!body.result)
      throw new Error(`cannot list the executors: ${body.error?.message ?? `HTTP ${response.statusCode}`}`);
    if (wantsJson(options)) return printJson(body.result);
    printTable(
      ['ID', 'NAME', 'SOURCE', 'DESCRIPTION'],
      body.result.executors.map((entry) => [entry.id, entry.name, entry.source, entry.description]),
    );
  } finally {
    await app.close();
  }
}
