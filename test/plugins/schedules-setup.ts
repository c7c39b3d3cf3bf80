/** Shared setup of the schedules tests: a listening app, JSON-RPC calls, a slow executor, templates. */
import type { TestContext } from 'node:test';
import { defineExecutor, Type, type App } from 'apflow';
import { rpc, testApp } from '../helpers.ts';

/** A template of one task that completes at once. */
export const QUICK = [{ name: 'tick', schemas: { method: 'system_info_executor' } }];

/** Runs of the `hold` executor that have started and not ended, and those aborted (cancelled). */
export interface Holds {
  running: number;
  started: number;
  aborted: number;
}

/** `hold`: waits `ms` (input), or until its run is aborted; counts runs. */
export function holdExecutor(holds: Holds) {
  return defineExecutor({
    id: 'hold',
    inputSchema: Type.Object({ ms: Type.Optional(Type.Number()) }),
    async execute(inputs, ctx) {
      holds.running++;
      holds.started++;
      try {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, inputs.ms ?? 60_000);
          ctx.signal.addEventListener('abort', () => {
            holds.aborted++;
            clearTimeout(timer);
            resolve();
          });
        });
      } finally {
        holds.running--;
      }
      return { held: inputs.ms ?? null };
    },
  });
}

/** An answer of `POST /tasks`: the result, or the error. */
export interface Answer<T = Record<string, unknown>> {
  status: number;
  result: T;
  error?: { code: number; message: string };
}

/** A listening app on SQLite (a file when `file` is given) with the `hold` executor, and a caller. */
export async function scheduleApp(t: TestContext, inline: Record<string, unknown> = {}, holds?: Holds) {
  const app = await testApp(t, inline, holds ? { executors: [holdExecutor(holds)] } : {});
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, call: caller(url) };
}

/** Calls JSON-RPC methods of `/tasks` on `url`, with a bearer token when given. */
export function caller(url: string) {
  return async <T = Record<string, unknown>>(method: string, params: unknown, token?: string): Promise<Answer<T>> => {
    const answer = await rpc(
      url,
      '/tasks',
      { jsonrpc: '2.0', id: 1, method, params },
      token ? { authorization: `Bearer ${token}` } : {},
    );
    const body = answer.body as { result: T; error?: { code: number; message: string } };
    return { status: answer.status, result: body.result, error: body.error };
  };
}

/** A schedule's fires, newest first (schedules.runs). */
export interface Run {
  fire_at: string;
  kind: string;
  state: string;
  root_task_id: string | null;
  status: string | null;
  error: string | null;
}

/** The app's fires of schedule `id`, oldest first. */
export async function runsOf(call: ReturnType<typeof caller>, id: string, token?: string): Promise<Run[]> {
  const answer = await call<Run[]>('schedules.runs', { id, limit: 1000 }, token);
  if (answer.error) throw new Error(answer.error.message);
  return [...answer.result].reverse();
}

export type { App };
