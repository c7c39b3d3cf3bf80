// MCP sessions on `apflow serve --workers 2`: a session lives in the worker that answered its
// `initialize`; requests reaching the other worker are handed to it. Every request here opens a
// new connection, so the primary spreads them over both workers.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import {
  eventually,
  freePort,
  launchApflow,
  PROCESS_START_MS,
  repoRoot,
  tempProject,
  waitListening,
} from '../helpers.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

test(
  '--workers 2: sessions, tool calls with progress, cancellation and resource updates work whichever worker a request reaches',
  { timeout: 180_000 },
  async (t) => {
    const cwd = tempProject(t, {
      'apflow.config.yaml': `database:\n  url: sqlite:.data/apflow.sqlite\nexecutors:\n  dirs: [${JSON.stringify(fixtures)}]\n`,
    });
    const port = await freePort();
    const proc = launchApflow(t, ['serve', '--host', '127.0.0.1', '--port', String(port), '--workers', '2'], { cwd });
    const base = await waitListening(proc, PROCESS_START_MS);
    await eventually(
      () =>
        proc
          .stdout()
          .split('\n')
          .filter((line) => line.includes('"apflow listening"')).length >= 3,
      PROCESS_START_MS,
    );

    for (let round = 0; round < 3; round++) {
      const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { connection: 'close' } },
      });
      const client = new Client({ name: 'apflow-test', version: '1.0.0' });
      await client.connect(transport);
      t.after(() => client.close());
      const updates: string[] = [];
      client.setNotificationHandler(
        ResourceUpdatedNotificationSchema,
        (notification) => void updates.push(notification.params.uri),
      );

      for (let i = 0; i < 4; i++)
        assert.ok((await client.listTools()).tools.some((tool) => tool.name === 'execute_task'));
      const progress: Progress[] = [];
      const tasks = [
        { id: `w${round}-root`, name: 'root', schemas: { method: 'noop' } },
        { id: `w${round}-a`, name: 'a', parent_id: `w${round}-root`, schemas: { method: 'sleep' }, inputs: { ms: 20 } },
        {
          id: `w${round}-b`,
          name: 'b',
          parent_id: `w${round}-root`,
          schemas: { method: 'sleep' },
          inputs: { ms: 20 },
          dependencies: [`w${round}-a`],
        },
      ];
      await client.callTool({ name: 'create_task', arguments: { tasks } });
      await client.subscribeResource({ uri: `task://w${round}-b` });
      const answer = (await client.callTool(
        { name: 'execute_task', arguments: { task_id: `w${round}-root` } },
        undefined,
        { onprogress: (step) => progress.push(step) },
      )) as {
        structuredContent?: { status: string };
      };
      assert.equal(answer.structuredContent?.status, 'completed');
      assert.deepEqual(
        progress.filter((step) => Number.isInteger(step.progress)).map((step) => step.message),
        ['a: completed', 'b: completed', 'root: completed'],
      );
      await eventually(() => updates.includes(`task://w${round}-b`), 20_000);

      // A cancel notification reaching either worker stops the run.
      const controller = new AbortController();
      const hanging = [
        { id: `h${round}-root`, name: 'root', schemas: { method: 'noop' } },
        { id: `h${round}-x`, name: 'x', parent_id: `h${round}-root`, schemas: { method: 'hang' } },
      ];
      const call = client.callTool({ name: 'execute_task', arguments: { tasks: hanging } }, undefined, {
        signal: controller.signal,
        onprogress: () => undefined,
      });
      await eventually(async () => {
        const status = (await client.callTool({ name: 'get_task_status', arguments: { task_id: `h${round}-x` } })) as {
          structuredContent?: { status: string };
        };
        return status.structuredContent?.status === 'in_progress';
      }, 20_000);
      controller.abort('stop');
      await assert.rejects(call);
      await eventually(async () => {
        const status = (await client.callTool({
          name: 'get_task_status',
          arguments: { task_id: `h${round}-root` },
        })) as { structuredContent?: { status: string } };
        return status.structuredContent?.status === 'cancelled';
      }, 20_000);

      await transport.terminateSession();
      await client.close();
    }
    assert.equal(proc.stderr(), '');
  },
);
