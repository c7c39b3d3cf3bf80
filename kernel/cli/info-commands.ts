import { version } from '../internal/version.ts';
import { CONNECT_OPTIONS, runGroup } from './command-group.ts';
import { withClient } from './connect.ts';
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

/**
 * `apflow executors list [--json]`: the executors the configured project (or, with `--server`,
 * the server) can run — its executor folders and plugins — as `system.executors` answers them;
 * a table on a terminal, JSON when piped or with `--json`.
 */
export async function executorsGroup(argv: string[]): Promise<void> {
  await runGroup(
    'executors',
    'The executors this project (or a server: --server) can run',
    [
      {
        name: 'list',
        summary: 'Every executor: id, name, source, description (JSON: as system.executors answers)',
        options: { json: { type: 'boolean', description: 'Print JSON even on a terminal' }, ...CONNECT_OPTIONS },
        async run(parsed) {
          const answer = await withClient(parsed, (client) => client.system.executors());
          if (wantsJson({ json: parsed.values.json === true })) return printJson(answer);
          printTable(
            ['ID', 'NAME', 'SOURCE', 'DESCRIPTION'],
            answer.executors.map((entry) => [entry.id, entry.name, entry.source, entry.description]),
          );
        },
      },
    ],
    argv,
  );
}
