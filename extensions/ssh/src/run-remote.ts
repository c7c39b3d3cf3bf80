import ssh2 from 'ssh2';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import { ApflowError } from 'apflow';
import { cappedOutput, type CappedOutput } from './capped-output.ts';
import type { Credentials } from './credentials.ts';
import { judgeHostKey, type HostKeyPlan, type HostKeyVerdict } from './host-key-check.ts';

/** How long a stopped command gets to end on SIGTERM before SIGKILL. */
const KILL_AFTER_MS = 2000;
/** How long after SIGKILL the connection is dropped even if the server never answers. */
const DROP_AFTER_MS = 3000;

/** One command to run on one checked address. */
export interface RemoteRun {
  /** The address the outbound policy checked (never the name: it may resolve elsewhere now). */
  address: string;
  port: number;
  /** `host:port` as the task named it, for messages. */
  target: string;
  username: string;
  credentials: Credentials;
  command: string;
  /** Variables sent as SSH `env` requests (request mode only). */
  env: Record<string, string> | undefined;
  plan: HostKeyPlan;
  timeoutS: number;
  maxOutputBytes: number;
  /** Aborted on cancel or on the task's own timeout. */
  signal: AbortSignal;
  /** Told when the connection is up (host key judged) and when the command runs. */
  onStage(stage: 'connected' | 'running', hostKey: HostKeyVerdict | undefined): void;
}

/** How the command ended. */
export interface RemoteOutcome {
  exitCode: number | null;
  exitSignal: string | null;
  stdout: CappedOutput;
  stderr: CappedOutput;
  hostKey: HostKeyVerdict | undefined;
}

const connectFailures = new WeakSet<object>();

/** Whether `error` is a failure to reach the address at all (another address may do). */
export function isConnectFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && connectFailures.has(error);
}

/**
 * Connects, runs the command and collects its output. A cancel, the task's timeout or the
 * input `timeout` rejects at once and stops the remote side: SIGTERM to the command (SIGKILL
 * after {@link KILL_AFTER_MS}), then the channel and the connection are closed.
 */
export function runRemote(run: RemoteRun): Promise<RemoteOutcome> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const stdout = cappedOutput(run.maxOutputBytes);
    const stderr = cappedOutput(run.maxOutputBytes);
    let hostKey: HostKeyVerdict | undefined;
    let channel: ClientChannel | undefined;
    let execPending = false;
    let settled = false;
    let exitCode: number | null = null;
    let exitSignal: string | null = null;

    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      run.signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve({ exitCode, exitSignal, stdout, stderr, hostKey });
    };
    // A command being started is stopped once its channel arrives (see the exec callback).
    const stop = (error: Error) => {
      settle(error);
      if (execPending) dropLater(client);
      else hangUp(client, channel);
    };
    const onAbort = () => stop(new ApflowError('APF_CONFLICT', { message: `ssh_executor: ${run.target}: stopped` }));
    const timer = setTimeout(() => {
      const what = channel ? 'the command was stopped and the connection closed' : 'while connecting';
      stop(
        new ApflowError('APF_UNAVAILABLE', {
          message: `ssh_executor: ${run.target} timed out after ${run.timeoutS}s (${what})`,
        }),
      );
    }, run.timeoutS * 1000);
    run.signal.addEventListener('abort', onAbort, { once: true });

    client.on('ready', () => {
      if (settled) return hangUp(client, undefined);
      run.onStage('connected', hostKey);
      execPending = true;
      client.exec(run.command, run.env ? { env: run.env } : {}, (error, opened) => {
        execPending = false;
        if (error) {
          return stop(
            new ApflowError('APF_UNAVAILABLE', {
              message: `ssh_executor: ${run.target} did not run the command: ${error.message}`,
            }),
          );
        }
        channel = opened;
        opened.on('data', (chunk: Buffer) => stdout.push(chunk));
        opened.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        opened.on('exit', (code: number | null, signalName?: string) => {
          exitCode = code;
          exitSignal = signalName ?? null;
        });
        opened.on('close', () => {
          settle();
          client.end();
        });
        if (settled) return hangUp(client, opened);
        run.onStage('running', hostKey);
      });
    });
    client.on('error', (error) => {
      const failure = describeFailure(error, run, hostKey);
      settle(failure);
      client.destroy();
    });
    client.on('close', () =>
      settle(
        new ApflowError('APF_UNAVAILABLE', {
          message: `ssh_executor: the connection to ${run.target} closed before the command ended`,
        }),
      ),
    );
    client.on('keyboard-interactive', (_name, _instructions, _language, prompts, finish) =>
      finish(keyboardAnswers(prompts, run.credentials.password)),
    );
    if (run.signal.aborted) return onAbort();
    client.connect(connectConfig(run, (verdict) => (hostKey = verdict)));
  });
}

function connectConfig(run: RemoteRun, judged: (verdict: HostKeyVerdict) => void): ConnectConfig {
  const { password, privateKey, passphrase } = run.credentials;
  return {
    host: run.address,
    port: run.port,
    username: run.username,
    password,
    privateKey,
    passphrase,
    // Servers that take passwords only as keyboard-interactive prompts get the password there.
    tryKeyboard: password !== undefined,
    hostVerifier: (key: Buffer) => {
      const verdict = judgeHostKey(run.plan, key);
      judged(verdict);
      return verdict.refusal === undefined;
    },
    algorithms: run.plan.algorithms ? { serverHostKey: run.plan.algorithms } : undefined,
    // Our own timer bounds the whole run; ssh2's handshake limit must not fire first.
    readyTimeout: run.timeoutS * 1000 + 5000,
  };
}

/**
 * Answers a keyboard-interactive round (servers that ask for the password that way, as PAM
 * does): hidden prompts get the password, visible ones (a user name, say) an empty answer. Without
 * a password every answer is empty, so the server moves on (fails) at once instead of waiting.
 */
function keyboardAnswers(prompts: readonly { prompt: string; echo?: boolean }[], password: string | undefined) {
  return prompts.map((prompt) => (password !== undefined && prompt.echo !== true ? password : ''));
}

/** Stops the remote command (TERM, then KILL) and closes the connection. */
function hangUp(client: Client, channel: ClientChannel | undefined): void {
  dropLater(client);
  if (!channel) return void client.end();
  const kill = setTimeout(() => {
    send(channel, 'KILL');
    client.end();
  }, KILL_AFTER_MS);
  channel.once('close', () => clearTimeout(kill));
  send(channel, 'TERM');
}

/** Drops the connection if it is still open once the command had time to be stopped. */
function dropLater(client: Client): void {
  const drop = setTimeout(() => client.destroy(), KILL_AFTER_MS + DROP_AFTER_MS);
  client.once('close', () => clearTimeout(drop));
}

/** Sends a signal to the remote command (servers that do not support it ignore the request). */
function send(channel: ClientChannel, signal: string): void {
  try {
    channel.signal(signal);
  } catch {
    // The channel closed meanwhile: the command has ended.
  }
}

/** The task's error for a failed connection, never naming a credential. */
function describeFailure(error: Error & { level?: string }, run: RemoteRun, hostKey: HostKeyVerdict | undefined) {
  if (hostKey?.refusal) {
    return new ApflowError('APF_FORBIDDEN', { message: `ssh_executor: ${run.target} is refused: ${hostKey.refusal}` });
  }
  if (error.level === 'client-authentication') {
    return new ApflowError('APF_FORBIDDEN', {
      message: `ssh_executor: authentication as ${run.username} on ${run.target} failed: check the username and the password or key`,
    });
  }
  const code = 'code' in error && typeof error.code === 'string' ? error.code : error.message;
  const failure = new ApflowError('APF_UNAVAILABLE', { message: `ssh_executor: cannot reach ${run.target}: ${code}` });
  if (error.level === 'client-socket' && !hostKey) connectFailures.add(failure);
  return failure;
}
