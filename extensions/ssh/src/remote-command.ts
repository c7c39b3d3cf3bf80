import { ApflowError } from 'apflow';

/** How environment variables reach the remote command. */
export type EnvMode = 'export' | 'request';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks the variable names of `env` (any other name could not be set safely). */
export function checkEnvNames(field: string, env: Readonly<Record<string, string>> | undefined): void {
  for (const name of Object.keys(env ?? {})) {
    if (!NAME.test(name)) {
      throw new ApflowError('APF_INVALID_PARAMS', {
        message: `ssh_executor: ${field} name ${JSON.stringify(name)} is not a variable name (letters, digits and _, not starting with a digit)`,
      });
    }
  }
}

/** A value quoted for a POSIX shell: single quotes, with each `'` written as `'\''`. */
function shellQuote(value: string): string {
  return `'${value.split("'").join("'\\''")}'`;
}

/**
 * The command line to send. In `export` mode the variables are set by the remote login shell
 * before the command (works on any server with a POSIX shell); in `request` mode the command is
 * sent as given and the variables travel as SSH `env` requests (the server keeps only the names
 * its `AcceptEnv` lists).
 */
export function remoteCommand(command: string, env: Readonly<Record<string, string>>, mode: EnvMode): string {
  const entries = Object.entries(env);
  if (mode === 'request' || !entries.length) return command;
  return `export ${entries.map(([name, value]) => `${name}=${shellQuote(value)}`).join(' ')}; ${command}`;
}
