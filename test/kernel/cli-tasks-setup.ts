/**
 * Shared setup of the `apflow tasks` tests (cli-tasks*.test.ts): a remote project (see
 * cli-remote-setup.ts), the same command run locally and against its server, and JSON-RPC calls
 * to that server as a user (to run a tree there while the CLI reads or cancels it).
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { rpc } from '../helpers.ts';
import { remoteProject, type CliResult } from './cli-remote-setup.ts';

export type Project = Awaited<ReturnType<typeof remoteProject>>;
export { remoteProject, type CliResult };

/** A tree of the fixture executors: a root that gathers an echo and a short sleep. */
export const sampleTree = (prefix: string) => [
  { id: `${prefix}root`, name: `${prefix}Root`, schemas: { method: 'echo' }, inputs: { say: 'root' } },
  { id: `${prefix}echo`, name: 'Echo', parent_id: `${prefix}root`, schemas: { method: 'echo' }, inputs: { say: 'hi' } },
  {
    id: `${prefix}nap`,
    name: 'Nap',
    parent_id: `${prefix}root`,
    priority: 2,
    schemas: { method: 'sleep' },
    inputs: { ms: 5 },
    dependencies: [`${prefix}echo`],
  },
];

/** `apflow ARGS` locally and against the server as `as` (default admin), at once: [local, remote]. */
export async function bothWays(project: Project, args: string[], as = 'admin'): Promise<[CliResult, CliResult]> {
  return Promise.all([project.cli(args), project.cli(args, { as })]);
}

/** Asserts a command printed the same, with exit code 0, locally and remotely; returns the output parsed. */
export async function sameBothWays(project: Project, args: string[]): Promise<unknown> {
  const [local, remote] = await bothWays(project, args);
  assert.equal(local.code, 0, `${args.join(' ')} locally: ${local.stderr}`);
  assert.equal(remote.code, 0, `${args.join(' ')} remotely: ${remote.stderr}`);
  assert.equal(remote.stdout, local.stdout, `${args.join(' ')} prints the same both ways`);
  return JSON.parse(local.stdout) as unknown;
}

/** Calls a `/tasks` method on the project's server as `user`; the JSON-RPC result (an error throws). */
export async function call(project: Project, user: string, method: string, params: unknown): Promise<unknown> {
  const answer = await rpc(
    project.url,
    '/tasks',
    { jsonrpc: '2.0', id: 1, method, params },
    { authorization: `Bearer ${await project.token(user)}` },
  );
  const body = answer.body ?? {};
  if (body.error) throw new Error(`${method} failed: ${JSON.stringify(body.error)}`);
  return body.result;
}

/** Runs a command expecting exit code 1 and returns its stderr. */
export async function failing(project: Project, args: string[], options: { as?: string; input?: string } = {}) {
  const out = await project.cli(args, options);
  assert.equal(out.code, 1, `${args.join(' ')} should fail: ${out.stdout}`);
  return out.stderr;
}

/** A new project with its server, for one test. */
export const project = (t: TestContext, files: Record<string, string> = {}) => remoteProject(t, files);
