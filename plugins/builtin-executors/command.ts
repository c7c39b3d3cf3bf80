import { execFile } from 'node:child_process';
import { constants } from 'node:os';
import { ApflowError, defineExecutor, Type } from 'apflow';
import { quoteWord, splitWords } from './command-words.ts';

/** Settings of the command executor (config `builtin_executors.command`, or the original's env vars). */
export interface CommandSettings {
  enabled: boolean;
  allow: string[];
}

/**
 * `command_executor`: runs one program with arguments, never through a shell. Off unless the
 * config enables it; when `allow` is not empty only the programs it names may run.
 */
export function createCommandExecutor(settings: CommandSettings) {
  return defineExecutor({
    id: 'command_executor',
    name: 'Command',
    description: 'Runs a program (no shell) and returns its exit code and output; disabled unless the config allows it',
    inputSchema: Type.Object({
      command: Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String(), { minItems: 1 })]),
      args: Type.Optional(Type.Array(Type.String())),
      cwd: Type.Optional(Type.String()),
      timeout: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    }),
    async execute(inputs, ctx) {
      if (!settings.enabled) {
        throw new ApflowError('APF_FORBIDDEN', {
          message:
            'command_executor is disabled: set builtin_executors.command.enabled: true (or APFLOW_STDIO_ALLOW_COMMAND=1) to allow it',
        });
      }
      const words = typeof inputs.command === 'string' ? splitWords(inputs.command) : inputs.command;
      const [program, ...rest] = words;
      const args = [...rest, ...(inputs.args ?? [])];
      if (!program) throw new ApflowError('APF_INVALID_PARAMS', { message: 'command is empty' });
      // Exact names only: '/tmp/x/echo' is another program than the 'echo' on the PATH.
      if (settings.allow.length > 0 && !settings.allow.includes(program)) {
        throw new ApflowError('APF_FORBIDDEN', {
          message: `command '${program}' is not in the allowlist (${settings.allow.join(', ')})`,
        });
      }
      const shown =
        typeof inputs.command === 'string'
          ? [inputs.command, ...(inputs.args ?? []).map(quoteWord)].join(' ')
          : [...inputs.command, ...(inputs.args ?? [])].map(quoteWord).join(' ');
      const timeoutS = inputs.timeout ?? 30;
      ctx.signal.throwIfAborted();
      return new Promise((resolve, reject) => {
        const child = execFile(
          program,
          args,
          { cwd: inputs.cwd, env: commandEnv(), maxBuffer: 10 * 1024 * 1024, killSignal: 'SIGKILL', shell: false },
          (error, stdout, stderr) => {
            clearTimeout(timer);
            ctx.signal.removeEventListener('abort', onAbort);
            if (error && typeof error.code !== 'number' && !error.signal) {
              // Nothing ran (spawn failed) or the output overflowed: no exit code to report.
              const why =
                'syscall' in error
                  ? `cannot run '${program}': ${String(error.code)}`
                  : `command failed: ${error.message}`;
              return reject(new ApflowError('APF_INTERNAL', { message: why, cause: error }));
            }
            // A program killed by a signal gets minus the signal number, as Python's returncode.
            const code = !error
              ? 0
              : typeof error.code === 'number'
                ? error.code
                : -((error.signal && constants.signals[error.signal]) ?? 1);
            resolve({ command: shown, return_code: code, stdout, stderr, success: code === 0 });
          },
        );
        // SIGKILL, as subprocess.run(timeout=…) does: a program must not outlive its task by
        // ignoring SIGTERM. (execFile's own `signal` option sends SIGTERM whatever killSignal says.)
        const stop = (reason: unknown) => {
          child.kill('SIGKILL');
          reject(reason);
        };
        const onAbort = () => stop(ctx.signal.reason);
        const timer = setTimeout(
          () => stop(new ApflowError('APF_INTERNAL', { message: `command timed out after ${timeoutS}s: ${shown}` })),
          timeoutS * 1000,
        );
        ctx.signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  });
}

/** Variables a command sees: enough to find programs and speak the locale, never the server's secrets. */
const PASSED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

function commandEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    PASSED_ENV.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name]]])),
  );
}
