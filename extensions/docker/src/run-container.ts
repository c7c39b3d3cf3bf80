import { randomBytes } from 'node:crypto';
import { ApflowError, isRecord, type ExecutorContext } from 'apflow';
import { EngineError, unreachable, type EngineApi } from './engine-api.ts';
import type { ImageReference } from './image-policy.ts';
import { LogDemuxer, type CapturedLogs } from './log-demux.ts';
import { ensureImage, type PullPolicy } from './pull-image.ts';

/** What one run needs, its policy checks passed. */
export interface ContainerRun {
  api: EngineApi;
  image: ImageReference;
  pull: PullPolicy;
  /** The body of `POST /containers/create`, built (its mounts checked again) right before it is sent. */
  spec: () => Promise<Record<string, unknown>>;
  timeoutS: number;
  remove: boolean;
  maxLogBytes: number;
}

/** The outcome of a container that ran to its end. */
export interface ContainerOutcome extends CapturedLogs {
  exit_code: number;
  success: boolean;
  container_id: string;
  oom_killed: boolean;
}

/** Where a run is: what a timeout message says was cut short. */
type Phase = 'pull' | 'mounts' | 'create' | 'run';

/** Longest wait for an abandoned create's answer before removing the container by name anyway. */
const CREATE_SETTLE_MS = 10_000;

const path = (id: string, rest = '') => `/containers/${encodeURIComponent(id)}${rest}`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Resolves as `work` does, or rejects as soon as `signal` aborts (leaving `work` to finish on its own). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Pulls if needed, creates, starts, follows the logs and waits for the container; then removes
 * it (unless `remove` is false and it ran to its end). On cancel, timeout or any failure after the
 * create call was sent, the container is killed and removed by its name, whatever `remove` says:
 * the create call itself is never aborted (the Engine would create the container anyway), so
 * nothing is left behind, running or not.
 */
export async function runContainer(run: ContainerRun, ctx: ExecutorContext): Promise<ContainerOutcome> {
  const { api } = run;
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error('timeout')), run.timeoutS * 1000);
  const signal = AbortSignal.any([ctx.signal, timeout.signal]);
  const name = `apflow-${ctx.task_id.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 40)}-${randomBytes(4).toString('hex')}`;
  let phase: Phase = 'pull';
  let created: Promise<unknown> | undefined;
  let finished = false;
  let removal = '';
  try {
    await ensureImage(api, run.image, run.pull, signal, (message) => ctx.progress(0.1, message));
    phase = 'mounts';
    const spec = await run.spec();
    signal.throwIfAborted();
    phase = 'create';
    ctx.progress(0.3, `docker_executor: creating a container of ${run.image.full}`);
    created = api.json({ method: 'POST', path: `/containers/create?name=${name}`, json: spec });
    const answer = await untilAborted(created, signal);
    const id = isRecord(answer) && typeof answer.Id === 'string' ? answer.Id : undefined;
    if (id === undefined) throw new ApflowError('APF_INTERNAL', { message: 'docker_executor: the Engine gave no id' });
    phase = 'run';
    await api.send({ method: 'POST', path: path(id, '/start'), signal });
    ctx.progress(0.4, `docker_executor: running in container ${id.slice(0, 12)}`);
    const [logs, exitCode] = await Promise.all([readLogs(api, id, run.maxLogBytes, signal), waitExit(api, id, signal)]);
    const state = await api.json({ method: 'GET', path: path(id, '/json'), signal });
    finished = true;
    const oomKilled = isRecord(state) && isRecord(state.State) && state.State.OOMKilled === true;
    return { exit_code: exitCode, ...logs, success: exitCode === 0, container_id: id, oom_killed: oomKilled };
  } catch (error) {
    if (created !== undefined) removal = await removeCreated(api, name, created, ctx);
    if (ctx.signal.aborted) throw error;
    if (timeout.signal.aborted) throw timedOut(run, phase, name, removal);
    throw engineFailure(error, api.socketPath, run.image.full);
  } finally {
    clearTimeout(timer);
    if (created !== undefined && finished && run.remove) await removeContainer(api, name, ctx);
  }
}

/** The timeout error: what was cut short, and what became of the container. */
function timedOut(run: ContainerRun, phase: Phase, name: string, removal: string): ApflowError {
  const within = `docker_executor: the run did not finish within ${run.timeoutS}s (timeout; the pull counts too)`;
  const doing: Record<Phase, string> = {
    pull: `while pulling ${run.image.full}: the pull was stopped (its connection closed) and no container was created`,
    mounts: 'while checking the mounts again: no container was created',
    create: 'while the container was being created',
    run: 'while the container ran',
  };
  const container =
    phase === 'pull' || phase === 'mounts'
      ? ''
      : removal
        ? `; removing the container ${name} failed (${removal}): remove it with docker rm -f ${name}`
        : phase === 'run'
          ? '; it was killed and removed'
          : '; it was removed before it started';
  return new ApflowError('APF_UNAVAILABLE', { message: `${within} ${doing[phase]}${container}` });
}

/**
 * Removes a container whose run failed or was stopped, by name: first waits (a while) for the
 * create call to be answered, so that the container exists when the removal comes. Answers why
 * the removal failed, or '' when the container is gone.
 */
async function removeCreated(api: EngineApi, name: string, created: Promise<unknown>, ctx: ExecutorContext) {
  const settled = await Promise.race([
    created.then(
      () => true,
      () => true,
    ),
    sleep(CREATE_SETTLE_MS).then(() => false),
  ]);
  // A create answered later still makes a container: remove that one too, whenever it comes.
  if (!settled)
    void created.then(
      () => removeContainer(api, name, ctx),
      () => undefined,
    );
  return removeContainer(api, name, ctx);
}

/** Kills (if running) and removes the container and its anonymous volumes; answers why it could not, or ''. */
async function removeContainer(api: EngineApi, name: string, ctx: ExecutorContext): Promise<string> {
  try {
    await api.send({ method: 'DELETE', path: path(name, '?force=true&v=true') });
    return '';
  } catch (error) {
    if (error instanceof EngineError && error.status === 404) return '';
    ctx.log.warn({ container: name, problem: String(error) }, 'docker_executor: could not remove the container');
    return error instanceof Error ? error.message : String(error);
  }
}

/** Follows the container's logs to its end (or to the limit, then stops reading). */
async function readLogs(api: EngineApi, id: string, limit: number, signal: AbortSignal): Promise<CapturedLogs> {
  const response = await api.open({
    method: 'GET',
    path: path(id, '/logs?follow=true&stdout=true&stderr=true'),
    signal,
  });
  const demuxer = new LogDemuxer(limit);
  for await (const chunk of response) {
    if (demuxer.full) {
      // Output past the limit only costs CPU: stop reading; the container runs on to its end.
      demuxer.markCut();
      response.destroy();
      break;
    }
    demuxer.push(chunk as Buffer); // an IncomingMessage without an encoding yields Buffers
  }
  return demuxer.result();
}

/** Waits for the container to stop and returns its exit code. */
async function waitExit(api: EngineApi, id: string, signal: AbortSignal): Promise<number> {
  const answer = await api.json({ method: 'POST', path: path(id, '/wait'), signal });
  if (isRecord(answer) && isRecord(answer.Error) && typeof answer.Error.Message === 'string' && answer.Error.Message)
    throw new ApflowError('APF_UNAVAILABLE', { message: `docker_executor: waiting failed: ${answer.Error.Message}` });
  if (!isRecord(answer) || typeof answer.StatusCode !== 'number')
    throw new ApflowError('APF_INTERNAL', { message: 'docker_executor: the Engine gave no exit code' });
  return answer.StatusCode;
}

/** An Engine failure as the task's error: the Engine's own message, under the code its status means. */
function engineFailure(error: unknown, socketPath: string, image: string): unknown {
  if (error instanceof ApflowError) return error;
  if (error instanceof EngineError) {
    const code =
      error.status === 404 ? 'APF_NOT_FOUND' : error.status === 400 ? 'APF_INVALID_PARAMS' : 'APF_UNAVAILABLE';
    return new ApflowError(code, {
      message: `docker_executor: the Docker Engine answered ${error.status} for ${image}: ${error.message}`,
    });
  }
  return unreachable(socketPath, error);
}
