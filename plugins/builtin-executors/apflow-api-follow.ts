import { setTimeout as wait } from 'node:timers/promises';
import { ApflowError, isApflowError, isRecord, type Logger } from 'apflow';
import { ID, type Remote } from './apflow-api-client.ts';
import type { ProgressRelay } from './apflow-api-relay.ts';
import { sseFrames, type SseFrame } from './apflow-api-sse.ts';
import { parse, type RemoteRun } from './apflow-api-start.ts';

/** How the remote task ended. */
export interface RemoteOutcome {
  status: string;
  progress: number;
  result?: unknown;
  error?: string;
  /** The run's (streamed) or the tree's (polled) tasks per status, when the remote gave them. */
  counts?: unknown;
}

/** How to follow a run. */
export interface FollowOptions {
  /** Follow the event stream (resumed with `Last-Event-ID` when it drops), else poll `tasks.get`. */
  streaming: boolean;
  /** Seconds between polls (and the unit of the back-off between resumes). */
  pollS: number;
  /** Aborted when this task is cancelled or times out. */
  signal: AbortSignal;
  relay: ProgressRelay;
  log: Logger;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
/** Streams resumed in a row without a new event before falling back to polling. */
const MAX_RESUMES = 5;
/** Polls failing in a row (network, 5xx) before the task fails. */
const MAX_POLL_FAILURES = 5;
const MAX_BACKOFF_S = 30;

/** Follows `run` to its end, relaying its progress; resolves with how the remote task ended. */
export async function followRun(remote: Remote, run: RemoteRun, options: FollowOptions): Promise<RemoteOutcome> {
  if (!options.streaming) {
    run.close();
    return poll(remote, run, options);
  }
  let frames: AsyncGenerator<SseFrame> | undefined = run.frames;
  let close = run.close;
  let lastSeq: number | undefined;
  let drops = 0;
  for (;;) {
    if (frames) {
      try {
        for await (const frame of frames) {
          if (frame.id !== undefined && /^\d+$/.test(frame.id)) {
            lastSeq = Number(frame.id);
            drops = 0;
          }
          const event = parse(frame.data);
          if (event.type === 'final') return await ending(remote, run, event, options.signal);
          options.relay.event(event);
        }
      } catch (error) {
        if (options.signal.aborted) throw error;
        options.log.warn({ root_task_id: run.rootId, base_url: remote.base }, `${ID}: the remote event stream dropped`);
      } finally {
        close();
      }
    }
    options.signal.throwIfAborted();
    // Without a seq seen, a resume could replay an earlier run of the same tree: poll instead.
    if (lastSeq === undefined || ++drops > MAX_RESUMES) return poll(remote, run, options);
    await wait(Math.min(options.pollS * drops, MAX_BACKOFF_S) * 1000, undefined, { signal: options.signal });
    const controller = new AbortController();
    close = () => controller.abort();
    try {
      const response = await remote.events(run.rootId, lastSeq, AbortSignal.any([options.signal, controller.signal]));
      frames = response.body ? sseFrames(response.body) : undefined;
    } catch (error) {
      options.signal.throwIfAborted();
      // No event route there (no sse plugin), or a refusal: polling still works.
      if (!isApflowError(error) || error.code !== 'APF_UNAVAILABLE') return poll(remote, run, options);
      frames = undefined;
    }
  }
}

/** How the run ended, from its `final` event (the root's) or, for another task executed, its row. */
async function ending(
  remote: Remote,
  run: RemoteRun,
  final: Record<string, unknown>,
  signal: AbortSignal,
): Promise<RemoteOutcome> {
  if (run.taskId !== run.rootId) {
    const task = await remote.call('tasks.get', { task_id: run.taskId }, signal);
    if (isRecord(task)) return { ...outcomeOf(task), ...(final.counts === undefined ? {} : { counts: final.counts }) };
  }
  return outcomeOf(final);
}

function outcomeOf(source: Record<string, unknown>): RemoteOutcome {
  const outcome: RemoteOutcome = {
    status: typeof source.status === 'string' ? source.status : 'unknown',
    progress: typeof source.progress === 'number' ? source.progress : 0,
  };
  if (source.result !== undefined && source.result !== null) outcome.result = source.result;
  if (typeof source.error === 'string' && source.error) outcome.error = source.error;
  if (source.counts !== undefined) outcome.counts = source.counts;
  return outcome;
}

/** Polls `tasks.get` of the executed task every `pollS` seconds until it has ended. */
async function poll(remote: Remote, run: RemoteRun, options: FollowOptions): Promise<RemoteOutcome> {
  let failures = 0;
  for (;;) {
    let task: unknown;
    try {
      task = await remote.call('tasks.get', { task_id: run.taskId }, options.signal);
      failures = 0;
    } catch (error) {
      options.signal.throwIfAborted();
      if (!isApflowError(error) || error.code !== 'APF_UNAVAILABLE' || ++failures > MAX_POLL_FAILURES) throw error;
      options.log.warn({ root_task_id: run.rootId, base_url: remote.base, failures }, `${ID}: a poll failed`);
    }
    if (task === null)
      throw new ApflowError('APF_NOT_FOUND', {
        message: `${ID}: the remote task ${run.taskId} is gone from ${remote.base} (deleted while it ran?)`,
      });
    if (isRecord(task)) {
      options.relay.polled(task);
      if (typeof task.status === 'string' && TERMINAL.has(task.status)) return outcomeOf(task);
    }
    const delayS = Math.min(options.pollS * 2 ** failures, Math.max(options.pollS, MAX_BACKOFF_S));
    await wait(delayS * 1000, undefined, { signal: options.signal });
  }
}
