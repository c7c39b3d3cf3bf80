import { ApflowError, defineExecutor, refusalDetail, type CheckedAddress, type ExecutorContext } from 'apflow';
import { loadCredentials } from './credentials.ts';
import { planHostKey, pinsHostKey, type HostKeyVerdict } from './host-key-check.ts';
import { SshInputs } from './inputs.ts';
import { checkEnvNames, remoteCommand } from './remote-command.ts';
import { isConnectFailure, runRemote, type RemoteOutcome } from './run-remote.ts';
import type { SshSettings } from './settings.ts';
import { sshDemoResult } from './demo-result.ts';

const DEFAULT_TIMEOUT_S = 60;

/** `ssh_executor` with the server's `ssh` settings. */
export function createSshExecutor(settings: SshSettings) {
  return defineExecutor({
    id: 'ssh_executor',
    name: 'SSH command',
    description:
      'Runs a command on a remote host over SSH (password or key auth, host key checked) and returns exit_code, stdout, stderr',
    inputSchema: SshInputs,
    secretInputs: ['password', 'private_key', 'passphrase', 'secret_env'],
    async execute(inputs, ctx) {
      const port = inputs.port ?? 22;
      const target = `${inputs.host.includes(':') ? `[${inputs.host}]` : inputs.host}:${port}`;
      checkEnvNames('env', inputs.env);
      checkEnvNames('secret_env', inputs.secret_env);
      const plan = planHostKey(inputs, settings.known_hosts, inputs.host, port);
      if (settings.require_host_key && !pinsHostKey(plan)) {
        throw new ApflowError('APF_FORBIDDEN', {
          message: `ssh_executor: ${target} is refused: this server requires a verified host key (config ssh.require_host_key); give host_key_sha256 (\`ssh-keyscan -p ${port} ${inputs.host} | ssh-keygen -lf -\`) or known_hosts`,
        });
      }
      const credentials = await loadCredentials(inputs, settings.key_dirs);
      const addresses = await checkedAddresses(ctx, inputs.host, port, target);
      const env = { ...inputs.env, ...inputs.secret_env };
      const mode = inputs.env_mode ?? 'export';
      const timeoutS = inputs.timeout ?? DEFAULT_TIMEOUT_S;
      ctx.progress(0.1, `connecting to ${target}`);
      const run = (address: CheckedAddress) =>
        runRemote({
          address: address.address,
          port,
          target,
          username: inputs.username,
          credentials,
          command: remoteCommand(inputs.command, env, mode),
          env: mode === 'request' ? env : undefined,
          plan,
          timeoutS,
          maxOutputBytes: settings.max_output_bytes,
          signal: ctx.signal,
          onStage: (stage, hostKey) =>
            stage === 'connected'
              ? ctx.progress(
                  0.3,
                  `connected to ${target} (host key ${hostKey?.verified ? 'verified' : 'NOT verified'})`,
                )
              : ctx.progress(0.5, 'running'),
        });
      let outcome: RemoteOutcome | undefined;
      for (const [index, address] of addresses.entries()) {
        try {
          outcome = await run(address);
          break;
        } catch (error) {
          // An address that cannot be reached at all: the host's next address may be.
          if (!isConnectFailure(error) || index === addresses.length - 1 || ctx.signal.aborted) throw error;
        }
      }
      if (!outcome) throw new ApflowError('APF_INTERNAL', { message: `ssh_executor: ${target} has no address` });
      const hostKey = outcome.hostKey;
      if (!hostKey?.verified) {
        ctx.log.warn({ target, host_key_sha256: hostKey?.fingerprint }, 'ssh host key not verified');
      }
      return resultOf(inputs, port, outcome, hostKey, settings.max_output_bytes);
    },
    demoResult: (inputs) => sshDemoResult(inputs, settings.max_output_bytes),
  });
}

/** The addresses the outbound policy allows for `host:port` (refusals name the executor). */
async function checkedAddresses(ctx: ExecutorContext, host: string, port: number, target: string) {
  try {
    return await ctx.outbound.checkHost(host, port);
  } catch (error) {
    const refused = refusalDetail(error);
    if (refused) {
      throw new ApflowError('APF_FORBIDDEN', {
        message: `ssh_executor: ${refused.target} is refused: ${refused.reason}`,
      });
    }
    throw new ApflowError('APF_UNAVAILABLE', {
      message: `ssh_executor: cannot resolve ${target}: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}

function resultOf(
  inputs: SshInputs,
  port: number,
  outcome: RemoteOutcome,
  hostKey: HostKeyVerdict | undefined,
  maxOutputBytes: number,
) {
  const { stdout, stderr } = outcome;
  const verified = hostKey?.verified === true;
  return {
    host: inputs.host,
    port,
    username: inputs.username,
    command: inputs.command,
    exit_code: outcome.exitCode,
    signal: outcome.exitSignal,
    stdout: stdout.text(),
    stderr: stderr.text(),
    success: outcome.exitCode === 0,
    truncated: stdout.truncated || stderr.truncated,
    stdout_bytes: stdout.total,
    stderr_bytes: stderr.total,
    max_output_bytes: maxOutputBytes,
    host_key_verified: verified,
    host_key_sha256: hostKey?.fingerprint ?? null,
    ...(verified
      ? {}
      : {
          warning: `host key NOT verified: ${hostKey?.fingerprint ?? 'the key'} was accepted unchecked; pin it with host_key_sha256 or known_hosts (config ssh.require_host_key refuses unverified hosts)`,
        }),
  };
}
