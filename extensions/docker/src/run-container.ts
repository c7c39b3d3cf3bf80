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
  /** The body of `POST /containers/create`. */
  spec: Record<string, unknown>;
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

const path = (id: string, rest = '') => `/containers/${encodeURIComponent(id)}${rest}`;

/**
 * Pulls if needed, creates, starts, follows the logs and waits for the container; then removes
 * it (unless `remove` is false and it ran to its end). On cancel or timeout the container is
 * killed and removed, whatever `remove` says, so nothing keeps running after its task.
 */
export async function runContainer(run: ContainerRun, ctx: ExecutorContext): Promise<ContainerOutcome> {
  const { api } = run;
  const timeout = AbortSignal.timeout(run.timeoutS * 1000);
  const signal = AbortSignal.any([ctx.signal, timeout]);
  let id: string | undefined;
  let finished = false;
  try {
    await ensureImage(api, run.image, run.pull, signal, (message) => ctx.progress(0.1, message));
    ctx.progress(0.3, `docker_executor: creating a container of ${run.image.full}`);
    const name = `apflow-${ctx.task_id.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 40)}-${randomBytes(4).toString('hex')}`;
    const created = await api.json({ method: 'POST', path: `/containers/create?name=${name}`, json: run.spec, signal });
    id = isRecord(created) && typeof created.Id === 'string' ? created.Id : undefined;
    if (id === undefined) throw new ApflowError('APF_INTERNAL', { message: 'docker_executor: the Engine gave no id' });
    await api.send({ method: 'POST', path: path(id, '/start'), signal });
    ctx.progress(0.4, `docker_executor: running in container ${id.slice(0, 12)}`);
    const [logs, exitCode] = await Promise.all([readLogs(api, id, run.maxLogBytes, signal), waitExit(api, id, signal)]);
    const state = await api.json({ method: 'GET', path: path(id, '/json'), signal });
    finished = true;
    const oomKilled = isRecord(state) && isRecord(state.State) && state.State.OOMKilled === true;
    return { exit_code: exitCode, ...logs, success: exitCode === 0, container_id: id, oom_killed: oomKilled };
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    if (timeout.aborted) {
      throw new ApflowError('APF_UNAVAILABLE', {
        message: `docker_executor: the container did not finish within ${run.timeoutS}s (timeout); it was killed and removed`,
      });
    }
    throw engineFailure(error, api.socketPath, run.image.full);
  } finally {
    if (id !== undefined && (!finished || run.remove)) await removeContainer(api, id, ctx);
  }
}

/** Kills (if running) and removes the container and its anonymous volumes; logs, never throws. */
async function removeContainer(api: EngineApi, id: string, ctx: ExecutorContext): Promise<void> {
  try {
    await api.send({ method: 'DELETE', path: path(id, '?force=true&v=true') });
  } catch (error) {
    if (error instanceof EngineError && error.status === 404) return;
    ctx.log.warn({ container_id: id, problem: String(error) }, 'docker_executor: could not remove the container');
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
