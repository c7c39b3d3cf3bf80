import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { newClient, runStep, settlesWithin, type ConnectOptions, type McpConnection } from './mcp-connection.ts';
import { specSecrets, type ServerSpec } from './server-spec.ts';
import { checkStdioGate } from './stdio-gate.ts';

/** Characters of the program's stderr kept for error messages (its last words). */
const STDERR_TAIL = 2000;
/** How long to wait for the program to be gone after the SDK's close (and after SIGKILL). */
const EXIT_WAIT_MS = 2000;

/**
 * Starts the program `spec.command` (if the stdio gate allows it) and initializes an MCP session
 * on its stdin/stdout. It sees only the SDK's default variables plus `spec.env`; its stderr is
 * kept (the last {@link STDERR_TAIL} characters) for error messages. `close()` ends it for good.
 */
export async function openStdio(
  spec: Extract<ServerSpec, { transport: 'stdio' }>,
  options: ConnectOptions,
): Promise<McpConnection> {
  const [program = '', ...args] = spec.command;
  checkStdioGate(options.gate, program, spec.env ?? {}, options.who);
  options.signal.throwIfAborted();
  const transport = new StdioClientTransport({ command: program, args, env: spec.env, cwd: spec.cwd, stderr: 'pipe' });
  let tail = '';
  transport.stderr?.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL)));
  // `onclose` fires when the process has closed (the Client chains its own handler after this one).
  const exited = new Promise<void>((resolve) => (transport.onclose = () => resolve()));
  const client = newClient();
  const context = { who: options.who, target: `'${program}'`, secrets: specSecrets(spec), stderr: () => tail };

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Null once the program has closed on its own (or never started).
      const pid = transport.pid;
      // The SDK closes stdin, waits, then SIGTERM, waits, then SIGKILL without waiting: make sure.
      await client.close().catch(() => undefined);
      if (pid === null || (await settlesWithin(exited, EXIT_WAIT_MS))) return;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await settlesWithin(exited, EXIT_WAIT_MS);
    })());

  try {
    await runStep(context, options, 'connecting', async (request) => {
      try {
        await client.connect(transport, request);
      } catch (error) {
        // A program that died while starting: let its last stderr lines arrive for the message.
        if (await settlesWithin(exited, EXIT_WAIT_MS)) await new Promise((resolve) => setImmediate(resolve));
        throw error;
      }
    });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    client,
    transport: 'stdio',
    request: (step, work, extra) => runStep(context, options, step, work, extra),
    close,
  };
}
