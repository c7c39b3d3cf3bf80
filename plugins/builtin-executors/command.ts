import { execFile } from 'node:child_process';
import { basename } from 'node:path';
import { ApflowError, defineExecutor, Type } from 'apflow';

/** Settings of the command executor (config `builtin_executors.command`, or the original's env vars). */
export interface CommandSettings {
  enabled: boolean;
  allow: string[];
}

/**
 * `command_executor`: runs one program with arguments, never through a shell. Off unless the
 * config enables it; when `allow` is not empty only those program names may run.
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
          message: 'command_executor is disabled: set builtin_executors.command.enabled: true (or APFLOW_STDIO_ALLOW_COMMAND=1) to allow it',
        });
      }
      const [program, ...rest] = typeof inputs.command === 'string' ? splitWords(inputs.command) : inputs.command;
      const args = [...rest, ...(inputs.args ?? [])];
      if (!program) throw new ApflowError('APF_INVALID_PARAMS', { message: 'command is empty' });
      if (settings.allow.length > 0 && !settings.allow.includes(basename(program))) {
        throw new ApflowError('APF_FORBIDDEN', { message: `command '${basename(program)}' is not in the allowlist (${settings.allow.join(', ')})` });
      }
      return new Promise((resolve) => {
        execFile(
          program,
          args,
          { cwd: inputs.cwd, timeout: (inputs.timeout ?? 30) * 1000, signal: ctx.signal, maxBuffer: 10 * 1024 * 1024, shell: false },
          (error, stdout, stderr) => {
            const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
            resolve({ command: [program, ...args].join(' '), return_code: code, stdout, stderr: stderr || (error && code === -1 ? error.message : ''), success: code === 0 });
          },
        );
      });
    },
  });
}

/** Splits a command line into words, honouring quotes; no expansion of any kind. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | null = null;
  let started = false;
  for (const char of line) {
    if (quote) {
      if (char === quote) quote = null;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      started = true;
    } else if (/\s/.test(char)) {
      if (started) words.push(current);
      current = '';
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (quote) throw new ApflowError('APF_INVALID_PARAMS', { message: `command has an unclosed ${quote} quote` });
  if (started) words.push(current);
  return words;
}
