/** Shared setup of the executor hot-reload tests: executor files, a watching app, and what it lists. */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { App, ExecutorContext, HealthReport } from 'apflow';
import { memoryLog, rpc, testApp } from '../helpers.ts';

interface ListedExecutor {
  id: string;
  description: string;
  source: string;
}

/** An executor file that describes itself as `description` and returns `result`. */
export const executorFile = (id: string, description: string, result: unknown) => `
import { defineExecutor, Type } from 'apflow';
export default defineExecutor({
  id: ${JSON.stringify(id)},
  description: ${JSON.stringify(description)},
  inputSchema: Type.Object({}),
  async execute() {
    return ${JSON.stringify(result)};
  },
});
`;

/** An app watching `dirs`, listening on a free local port. */
export async function listeningApp(t: TestContext, dirs: string[], log = memoryLog()) {
  const app = await testApp(t, { executors: { dirs } }, { logStream: log.stream });
  const { url } = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, log };
}

/** The executors from executor folders, as `system.executors` lists them (plugins' left out). */
export async function listExecutors(url: string): Promise<ListedExecutor[]> {
  const { body } = await rpc(url, '/system', { jsonrpc: '2.0', id: 1, method: 'system.executors' });
  return (body?.result as { executors: ListedExecutor[] }).executors.filter(
    (executor) => executor.source === 'executors folder',
  );
}

/** The description `system.executors` lists for executor `id`. */
export async function describe(url: string, id: string): Promise<string | undefined> {
  return (await listExecutors(url)).find((executor) => executor.id === id)?.description;
}

/** GET /health. */
export async function health(url: string): Promise<HealthReport> {
  return (await (await fetch(`${url}/health`)).json()) as HealthReport;
}

/** Runs an executor's code directly, as the engine would for a task without inputs. */
export async function run(app: App, id: string): Promise<unknown> {
  const entry = app.executor(id);
  assert.ok(entry, `executor '${id}' is registered`);
  return entry.definition.execute({}, {} as ExecutorContext);
}
