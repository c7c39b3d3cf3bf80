import { cac, type CAC, type Command } from 'cac';
import type { RpcErrorFields } from '../../client/errors.ts';
import { isApflowError } from '../errors/apflow-error.ts';
import { errorCatalogue } from '../errors/error-catalogue.ts';
import { version } from '../internal/version.ts';
import { warmUpUserFiles } from '../internal/bundle-user-file.ts';
import type { DaemonOptions } from './daemon.ts';

/**
 * Commands with subcommands of their own flags (the original's `-f` is --file, --force or
 * --format by subcommand): each parses its arguments itself (command-group.ts), local or `--server`.
 */
const GROUPS: Record<string, () => Promise<(argv: string[]) => Promise<void>>> = {
  tasks: async () => (await import('./tasks.ts')).tasksGroup,
  run: async () => (await import('./run.ts')).runGroup,
  generate: async () => (await import('./generate.ts')).generateGroup,
  executors: async () => (await import('./info-commands.ts')).executorsGroup,
  login: async () => (await import('./login.ts')).loginCommand,
  logout: async () => (await import('./login.ts')).logoutCommand,
};

/** Options every command accepts. */
interface GlobalOptions {
  config?: string;
}

/** Options of `apflow serve`. */
export interface ServeOptions extends GlobalOptions {
  host?: string;
  port?: string | number;
  workers?: string | number;
  reload?: boolean;
  /** The original's `--protocol a2a|mcp`: apflow serves both at once, so either starts the same server. */
  protocol?: string;
}

/**
 * The `apflow` command line: a thin cac shell. Each action imports its work lazily, and every
 * failure ends as one line on stderr and exit code 1.
 */
export async function runCli(argv: string[]): Promise<void> {
  // `apflow --config FILE tasks count` is `apflow tasks count --config FILE`.
  const lead = argv[0] === '--config' ? 2 : argv[0]?.startsWith('--config=') ? 1 : 0;
  const group = GROUPS[argv[lead] ?? ''];
  if (group) {
    try {
      const run = await group();
      await run([...argv.slice(lead + 1), ...argv.slice(0, lead)]);
    } catch (error) {
      fail(error);
    }
    return;
  }
  const cli = cac('apflow');
  cli.option('--config <file>', 'Config file (.ts, .js, .mjs, .json, .yaml, .yml); env APFLOW_CONFIG');

  const serveCommand = cli
    .command('serve', 'Start the API server')
    .alias('start')
    .option('--host <host>', 'Address to listen on (default 0.0.0.0; env APFLOW_HOST)')
    .option('--port <port>', 'Port to listen on (default 8000; env APFLOW_PORT)')
    .option('--workers <n>', 'Worker processes sharing the port (default 1)')
    .option('--reload', 'Reload local plugins when their files change (development)')
    .option('--protocol <name>', 'a2a or mcp, as the original took it: both are always served (A2A on /, MCP on /mcp)')
    .action(async (options: ServeOptions) => {
      warmUpUserFiles(process.cwd());
      const { serve } = await import('./serve.ts');
      await serve(options);
    });

  cli
    .command(
      'daemon <action>',
      'The server in the background, without systemd or Docker: start | stop | status | restart | logs',
    )
    .option('--host <host>', 'start, restart: address to listen on (as serve)')
    .option('--port <port>', 'start, restart: port to listen on (as serve)')
    .option('--workers <n>', 'start, restart: worker processes (as serve)')
    .option('--foreground', 'start: serve in this process, logging to the terminal')
    .option('--background', "start: in the background (the default; the original's flag)")
    .option('--pid-file <file>', 'the pid file (default .data/apflow.pid; env APFLOW_DAEMON_PID_FILE)')
    .option('--log-file <file>', 'the log file (default .data/apflow.log; env APFLOW_DAEMON_LOG_FILE)')
    .option('--timeout <s>', 'start: wait for /health; stop: wait before SIGKILL (default 30)')
    .option('-n, --lines <n>', 'logs: the last n lines (default 50)')
    .option('-f, --follow', 'logs: then print lines as they are appended, until Ctrl-C')
    .option('--json', 'status: print JSON even on a terminal')
    .action(async (action: string, options: DaemonOptions) => {
      const { daemonCommand } = await import('./daemon.ts');
      await daemonCommand(action, options);
    });

  // Listed here for the help; their own parsers run them (see GROUPS).
  cli.command(
    'run <flow|file>',
    'Run a task tree here or on a server: run flow [EXECUTOR] --tasks/-f/--inputs … (see apflow run --help)',
  );
  cli.command(
    'tasks <action>',
    'Tasks here or on a server: list get tree children status count create update delete copy cancel resume watch',
  );
  cli.command('generate task-tree <requirement>', 'A task tree from a requirement, by an LLM (tasks.generate)');
  cli.command('login [url]', 'Save a token for a server (used by --server URL), in a file only you can read');
  cli.command('logout <url>', 'Forget the saved token of a server');
  cli
    .command(
      'schedules <action> [id]',
      'Schedules in the database: list | add | get ID | runs ID | rm ID | pause ID | resume ID | trigger ID',
    )
    .option('--json', 'list: print JSON even on a terminal')
    .option('--table', 'list: print a table even when not on a terminal')
    .option('--user-id <id>', "list: only this user's schedules; add: the owner")
    .option('--enabled', 'list: only enabled schedules')
    .option('--paused', 'list: only paused schedules; add: create it paused')
    .option('--limit <n>', 'list: at most n (default 100); runs: the last n fires (default 50)')
    .option('--offset <n>', 'list: skip n')
    .option('--name <name>', 'add: the schedule name')
    .option('--cron <expr>', 'add: a cron expression (5 or 6 fields)')
    .option('--timezone <tz>', 'add: the time zone of --cron (default UTC)')
    .option('--every <seconds>', 'add: fire every n seconds')
    .option('--at <time>', 'add: fire once at this ISO-8601 time')
    .option('--webhook-only', 'add: fire only by its webhook and trigger (no timed trigger)')
    .option('-f, --file [file]', 'add: the tasks array to run (- for standard input)')
    .option('--template <task-id>', 'add: an existing tree to copy at each fire')
    .option('--inputs <json>', "add, trigger: a JSON object merged into the root task's inputs")
    .option('--overlap <policy>', 'add: skip (default) | allow | cancel_previous')
    .option('--catch-up <policy>', 'add: after downtime, none | one (default) | all')
    .option('--catch-up-max <n>', 'add: with --catch-up all, at most n fires')
    .option('--max-runs <n>', 'add: end after n fires')
    .option('--starts-at <time>', 'add: no fires before this ISO-8601 time')
    .option('--ends-at <time>', 'add: no fires after this ISO-8601 time')
    .option('--webhook', 'add: also a signed webhook (its secret is printed once)')
    .option('--no-wait', 'trigger: return once fired instead of running the tree here to its end')
    .action(async (action: string, id: string | number | undefined, options: Record<string, unknown>) => {
      const { schedulesCommand } = await import('./schedules.ts');
      await schedulesCommand(action, id, options);
    });

  cli
    .command(
      'mcp',
      'An MCP server on standard input and output (for Claude Desktop, Cursor…), on the configured database',
    )
    .option(
      '--user-id <id>',
      'Act as this user: see and create only their tasks (default: every task, as the other commands)',
    )
    .option('--admin', 'With --user-id: act as an administrator')
    .action(async (options: { config?: string; userId?: string; admin?: boolean }) => {
      const { mcpCommand } = await import('./mcp.ts');
      await mcpCommand(options);
    });

  cli
    .command(
      'users <action> [name]',
      'Users who may log in (jwt-auth): add NAME [--admin] [--password-stdin] | list | remove NAME',
    )
    .option('--admin', 'add: the user is an administrator')
    .option('--password-stdin', 'add: read the password from standard input')
    .action(async (action: string, name: string | undefined, options: Record<string, unknown>) => {
      const { usersCommand } = await import('./users.ts');
      await usersCommand(action, name, options);
    });

  cli
    .command(
      'auth <action>',
      'Tokens (jwt-auth): token --sub ID [--role admin] [--expires 30d] prints one signed with the configured secret',
    )
    .option('--sub <id>', 'token: the user id (the sub claim)')
    .option('--role <role>', 'token: a role (repeat for more; admin makes an administrator)')
    .option('--expires <duration>', 'token: lifetime, e.g. 30d, 12h, 15m (default 30d)')
    .action(async (action: string, options: Record<string, unknown>) => {
      const { authTokenCommand } = await import('./users.ts');
      await authTokenCommand(action, options);
    });

  cli
    .command(
      'examples <action>',
      'Example task trees: init [--force] creates them in the database (--force: deletes and re-creates them)',
    )
    .option('--force', 'init: delete the example trees and create them again')
    .action(async (action: string, options: { config?: string; force?: boolean }) => {
      const { examplesCommand } = await import('./examples.ts');
      await examplesCommand(action, options);
    });

  cli
    .command(
      'init [dir]',
      'A new project in DIR (default: here): package.json, apflow.config.ts, an executor and its test',
    )
    .action(async (dir: string | undefined) => {
      const { initCommand } = await import('./scaffold-commands.ts');
      initCommand(dir);
    });

  cli.command('executors <action>', 'The executors this project (or a server) can run: list [--json]');

  cli
    .command('version', "apflow's version, and the Node.js it runs on")
    .option('--json', 'print JSON even on a terminal')
    .action(async (options: { json?: boolean }) => {
      const { versionCommand } = await import('./info-commands.ts');
      versionCommand(options);
    });

  cli
    .command('new <kind> <name>', 'A typed skeleton with its test, here: new executor NAME | new plugin NAME')
    .action(async (kind: string, name: string) => {
      const { newCommand } = await import('./scaffold-commands.ts');
      newCommand(kind, name);
    });

  cli
    .command('test [...filters]', "Run the project's *.test.ts files (those whose path contains a filter)")
    .action(async (filters: string[]) => {
      const { testCommand } = await import('./test-command.ts');
      await testCommand(filters);
    });

  cli
    .command('[...args]', '')
    .usage('<command> [options]')
    .action((args: string[]) => {
      if (args.length > 0) fail(`unknown command '${args.join(' ')}' (see 'apflow --help')`);
      cli.outputHelp();
    });

  cli.help((sections) => topLevelHelp(sections, serveCommand));
  cli.version(version);
  try {
    cli.parse(['node', 'apflow', ...argv], { run: false });
    await cli.runMatchedCommand();
  } catch (error) {
    fail(error);
  }
}

type HelpSection = Parameters<NonNullable<Parameters<CAC['help']>[0]>>[0][number];

/**
 * The top-level help (the one with a command list) drops the row of the catch-all command and
 * shows the flags of `serve`, the command nearly everyone runs.
 */
function topLevelHelp(sections: HelpSection[], serve: Command): HelpSection[] {
  if (!sections.some((section) => section.title === 'Commands')) return sections;
  const width = Math.max(...serve.options.map((option) => option.rawName.length));
  const serveOptions = serve.options
    .map((option) => `  ${option.rawName.padEnd(width)}  ${option.description}`)
    .join('\n');
  return sections.flatMap((section) => {
    if (section.title !== 'Commands') return [section];
    const rows = section.body.split('\n').filter((row) => !row.trimStart().startsWith('[...args]'));
    return [
      { ...section, body: rows.join('\n') },
      { title: 'Options of serve', body: serveOptions },
    ];
  });
}

/** Prints one line for `error` and exits with code 1. */
export function fail(error: unknown): never {
  const message = isApflowError(error)
    ? `${error.message} (${error.code})`
    : isRpcError(error)
      ? `${error.message} (${codeOfRpc(error.code, error.status)})`
      : error instanceof Error
        ? error.message
        : String(error);
  process.stderr.write(`apflow: ${message}\n`);
  process.exit(1);
}

/**
 * An error answer of a server, as apflow/client throws it (its ApflowRpcError, recognised by its
 * fields so that every command does not load the client to print an error).
 */
function isRpcError(error: unknown): error is Error & RpcErrorFields {
  const fields = error as Partial<RpcErrorFields> | null;
  return (
    error instanceof Error &&
    typeof fields?.code === 'number' &&
    typeof fields.status === 'number' &&
    typeof fields.method === 'string'
  );
}

/**
 * The catalogue's name of a server's JSON-RPC error (`-32004` → `APF_NOT_FOUND`), so a remote
 * answer prints as a local one does; the HTTP status tells apart codes several names share.
 */
function codeOfRpc(code: number, status: number): string {
  const named = Object.entries(errorCatalogue).filter(([, entry]) => entry.rpc === code);
  return (named.find(([, entry]) => entry.status === status) ?? named[0])?.[0] ?? `JSON-RPC ${code}`;
}
