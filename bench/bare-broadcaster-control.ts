// The `fanout` workload's side of the bare broadcaster (bare-broadcaster.ts): starting it, and
// recording what apflow sent in a round (each event's JSON, timestamp and burst) so that the
// broadcaster can send the same frames at the same pacing.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { eventJson, type App } from 'apflow';
import type { BareBurst, BareCommand } from './bare-broadcaster.ts';

/** The wall clock with sub-millisecond precision (as the clients measure it). */
const now = () => performance.timeOrigin + performance.now();

/** A running bare broadcaster. */
export interface Bare {
  url: string;
  /** Sends `bursts` to the subscribers of `round`; resolves once its frames are prepared. */
  play(round: string, bursts: BareBurst[]): Promise<void>;
  /** Its CPU time (ms) since the last `play`. */
  stop(): Promise<number>;
  close(): void;
}

/** Forks the bare broadcaster and waits until it listens. */
export async function startBare(root: string): Promise<Bare> {
  const child = fork(join(root, 'bin', 'run-ts.js'), [join(root, 'bench', 'bare-broadcaster.ts')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const answer = <T>() =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`bare broadcaster exited with code ${code}`));
      child.once('exit', onExit);
      child.once('message', (message) => {
        child.off('exit', onExit);
        resolve(message as T);
      });
    });
  const tell = <T>(command: BareCommand) => {
    const answered = answer<T>();
    child.send(command);
    return answered;
  };
  const { url } = await answer<{ url: string }>();
  return {
    url,
    play: async (round, bursts) => void (await tell<{ playing: true }>({ play: true, round, bursts })),
    stop: async () => (await tell<{ cpu_ms: number }>({ stop: true })).cpu_ms,
    close: () => void child.kill(),
  };
}

/** One event as apflow announced it. */
export interface Announced {
  seq: number;
  json: string;
  /** `event.timestamp` (ms), taken before the event's commit. */
  madeAt: number;
  /** When the engine began announcing the event's commit (wall clock, ms): its commit time. */
  committedAt: number;
  burst: number;
}

/**
 * Records the events of tree `rootId` as the engine announces them (its `subscribe` listeners
 * hear a commit's events before the tree's followers do). Events announced in one synchronous
 * loop form one burst: one commit.
 */
export function recordAnnounced(app: App, rootId: string) {
  const events: Announced[] = [];
  /** Per burst: its announce loop (the followers' listeners) and then the tick's writes, ms. */
  const stages: { listeners: number; writes: number }[] = [];
  let burst = -1;
  let open = false;
  let committedAt = 0;
  const stop = app.engine.subscribe((event) => {
    if (event.root_task_id !== rootId) return;
    if (!open) {
      open = true;
      burst++;
      const began = (committedAt = now());
      // A microtask runs once the announce loop returned, and one it queues after the tree hub's
      // (queued by the loop): once the followers' listeners ran. They write at the end of the
      // tick, synchronously, so an immediate runs after that.
      queueMicrotask(() => {
        open = false;
        queueMicrotask(() => {
          const looped = now();
          setImmediate(() => stages.push({ listeners: looped - began, writes: now() - looped }));
        });
      });
    }
    events.push({ seq: event.seq, json: eventJson(event), madeAt: Date.parse(event.timestamp), committedAt, burst });
  });
  return { events, stages, stop };
}

/** apflow's bursts at the spacing of their events' timestamps (each sent when its last event was made). */
export function toBursts(events: Announced[]): BareBurst[] {
  const first = events[0]?.madeAt ?? 0;
  const bursts: BareBurst[] = [];
  events.forEach((event, i) => {
    const at = event.madeAt - first;
    const last = bursts.at(-1);
    if (last && events[i - 1]?.burst === event.burst) {
      last.events.push({ json: event.json, at });
      last.at = Math.max(last.at, at);
    } else bursts.push({ at, events: [{ json: event.json, at }] });
  });
  return bursts;
}
