/** Shared setup of the apflow_api_executor tests: a remote apflow with JWT auth, a local one calling it. */
import type { TestContext } from 'node:test';
import { defineExecutor, Type, type App, type CreateAppOptions } from 'apflow';
import { eventually, rpc, started, testApp } from '../helpers.ts';
import { now, SECRET, sign } from './jwt-auth-setup.ts';
import type { Json } from './builtin-executors-setup.ts';

/** What the remote's `remote_steps` tasks did, in order ('started', 'aborted'). */
export type Seen = string[];

/**
 * `remote_steps` (on the remote): reports "remote step 1 of 2" at 0.5, then returns `{steps: 2}`;
 * with `hold` it waits until its run is aborted (cancel, timeout) and notes it; with `gate` it
 * waits for `release()` of the test.
 */
function remoteSteps(seen: Seen, gate: Promise<void>) {
  return defineExecutor({
    id: 'remote_steps',
    inputSchema: Type.Object({ hold: Type.Optional(Type.Boolean()), gate: Type.Optional(Type.Boolean()) }),
    async execute(inputs, ctx) {
      seen.push('started');
      ctx.progress(0.5, 'remote step 1 of 2');
      if (inputs.gate) await gate;
      if (inputs.hold) {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
        seen.push('aborted');
      }
      return { steps: 2 };
    },
  });
}

/** The test's two servers. */
export interface Servers {
  local: App;
  remote: App;
  /** The remote's base URL (127.0.0.1). */
  remoteUrl: string;
  /** A valid token of the remote, for user alice. */
  token: string;
  seen: Seen;
  /** Lets `gate` tasks of the remote finish. */
  release: () => void;
}

/**
 * A remote apflow (JWT auth on, `remote_steps` besides the built-ins) listening on 127.0.0.1, and
 * a local one with apflow_api_executor that may call 127.0.0.1 (unless `local` says otherwise).
 */
export async function twoServers(
  t: TestContext,
  local: Record<string, unknown> = { outbound: { allow_hosts: ['127.0.0.1'] } },
  localOptions: CreateAppOptions = {},
): Promise<Servers> {
  const seen: Seen = [];
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const remote = await testApp(t, { auth: { jwt_secret: SECRET } }, { executors: [remoteSteps(seen, gate)] });
  const { url: remoteUrl } = await remote.listen({ host: '127.0.0.1', port: 0 });
  const localApp = await testApp(t, local, localOptions);
  const token = await sign({ sub: 'alice', exp: now() + 3600 });
  return { local: localApp, remote, remoteUrl, token, seen, release };
}

/** One local task calling the remote: apflow_api_executor with `inputs`. */
export const callTask = (inputs: Json) => [{ name: 'call remote', schemas: { method: 'apflow_api_executor' }, inputs }];

/** A remote tree: an aggregate root over system info and a `remote_steps` task (options for it). */
export function remoteTree(steps: Json = {}): Json[] {
  return [
    {
      id: 'agg',
      name: 'aggregate',
      schemas: { method: 'aggregate_results_executor' },
      dependencies: [{ id: 'cpu' }, { id: 'steps' }],
    },
    {
      id: 'cpu',
      name: 'cpu',
      parent_id: 'agg',
      schemas: { method: 'system_info_executor' },
      inputs: { resource: 'cpu' },
    },
    { id: 'steps', name: 'steps', parent_id: 'agg', schemas: { method: 'remote_steps' }, inputs: steps },
  ];
}

/** How many tasks alice has on the remote (asked over its API with her token). */
export async function remoteCount(servers: Servers): Promise<number> {
  const answer = await rpc(
    servers.remoteUrl,
    '/tasks',
    { jsonrpc: '2.0', id: 1, method: 'tasks.count' },
    { authorization: `Bearer ${servers.token}` },
  );
  return (answer.body as { result: { total: number } }).result.total;
}

/** The messages of the progress events of a local tree. */
export async function progressMessages(app: App, rootId: string): Promise<string[]> {
  return (await app.tasks.events(rootId))
    .filter((event) => event.type === 'progress' && event.message)
    .map((event) => event.message as string);
}

/** Starts a local call that holds the remote (a `hold` task), once the remote task runs. */
export async function holding(servers: Servers, inputs: Json = {}, params: Json = {}) {
  const { local, remoteUrl, token, seen } = servers;
  const tree = await local.engine.createTree([
    {
      ...callTask({
        base_url: remoteUrl,
        auth_token: token,
        params: { tasks: remoteTree({ hold: true }) },
        ...inputs,
      })[0],
      params,
    },
  ]);
  const { done } = started(await local.engine.execute(tree.id));
  await eventually(() => seen.includes('started'));
  const remoteRoot = await eventually(async () => (await servers.remote.tasks.list({ root_only: true }))[0]);
  return { tree, done, remoteRoot };
}

/** Waits until the remote tree is cancelled and its running task saw its run aborted. */
export async function remoteCancelled(servers: Servers, rootId: string): Promise<string> {
  const root = await eventually(async () => {
    const row = await servers.remote.tasks.get(rootId);
    return row?.status === 'cancelled' && row;
  });
  await eventually(() => servers.seen.includes('aborted'));
  return String(root.error);
}
