/** Shared setup of the mcp_executor tests: the fixture MCP servers and running one mcp_executor task. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { App, TaskEvent } from 'apflow';
import { started, processGone, repoRoot } from '../helpers.ts';

type Json = Record<string, unknown>;
type Row = Awaited<ReturnType<App['tasks']['tree']>>[number];

const STDIO_SERVER = join(repoRoot, 'test', 'fixtures', 'mcp-servers', 'stdio-server.ts');
/** The demo server as a stdio command (tsx is found from `cwd`, the repository). */
export const stdio = (...flags: string[]) => ({
  transport: 'stdio',
  command: [process.execPath, '--import', 'tsx', STDIO_SERVER, ...flags],
  cwd: repoRoot,
});
/** Stdio on, loopback allowed (the fixture servers listen on 127.0.0.1). */
export const OPEN = { mcp: { client: { stdio: { enabled: true } } }, outbound: { allow_hosts: ['127.0.0.1'] } };

/** Runs one `mcp_executor` task; resolves with its row and the events of its run. */
export async function run(app: App, inputs: Json) {
  const tree = await app.engine.createTree([{ name: 'mcp', schemas: { method: 'mcp_executor' }, inputs }]);
  const events: TaskEvent[] = [];
  const stop = app.engine.subscribe((event) => event.root_task_id === tree.id && events.push(event));
  const { done } = started(await app.engine.execute(tree.id));
  await done;
  stop();
  return { row: (await app.tasks.get(tree.id)) as Row, events };
}

/** Runs one task that must complete; returns its result. */
export async function completed(app: App, inputs: Json) {
  const { row } = await run(app, inputs);
  assert.equal(row.status, 'completed', `task failed: ${String(row.error)}`);
  return row.result as { success: boolean; operation: string; transport: string; result: Json; text?: string };
}

/** Runs one task that must fail; returns its error. */
export async function failed(app: App, inputs: Json): Promise<string> {
  const { row } = await run(app, inputs);
  assert.equal(row.status, 'failed', `task did not fail: ${JSON.stringify(row.result)}`);
  return String(row.error);
}

/** Whether process `pid` has exited. */
export const gone = processGone;

/** A temp file path, removed when the test ends. */
export function tempFile(t: TestContext, name: string): string {
  const file = join(tmpdir(), `apflow-mcp-${name}-${randomUUID()}`);
  t.after(() => rmSync(file, { force: true }));
  return file;
}
