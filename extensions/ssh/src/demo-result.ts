import type { SshInputs } from './inputs.ts';

/**
 * The demo result (`use_demo`): the shape of a real run, nothing connected or run. Demo inputs
 * are not checked, so every field is read defensively.
 */
export function sshDemoResult(inputs: Partial<SshInputs>, maxOutputBytes: number) {
  const host = typeof inputs.host === 'string' ? inputs.host : 'demo.example.com';
  const command = typeof inputs.command === 'string' ? inputs.command : 'uname -a';
  const stdout = `demo output of: ${command}\n`;
  return {
    host,
    port: typeof inputs.port === 'number' ? inputs.port : 22,
    username: typeof inputs.username === 'string' ? inputs.username : 'demo',
    command,
    exit_code: 0,
    signal: null,
    stdout,
    stderr: '',
    success: true,
    truncated: false,
    stdout_bytes: Buffer.byteLength(stdout),
    stderr_bytes: 0,
    max_output_bytes: maxOutputBytes,
    host_key_verified: false,
    host_key_sha256: null,
    note: `demo: no connection was made to ${host} and nothing was run`,
  };
}
