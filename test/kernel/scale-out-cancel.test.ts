// Issue 10, end to end: several `apflow serve` processes on one PostgreSQL database, with nothing
// lost or run twice. Only the public surface is used: real server processes, JSON-RPC over HTTP,
// SSE and WebSocket clients, and a user executor (test/scale-out/executors/record-run.ts) that
// records every run in a table of its own (scale_runs) on the database clock.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import { eventually } from '../helpers.ts';
import { runsReader } from '../scale-out/runs.ts';
import { call, freshPostgres, startServers, type ScaleServer } from '../scale-out/servers.ts';
import { sseSubscribe } from '../scale-out/subscribers.ts';
import { skip, treeSpec, createTree, statuses } from './scale-out-setup.ts';

describe('scale-out: several servers on one PostgreSQL', { skip }, () => {
  test(
    'a cancel sent to one server aborts the executor on the server running the task; a stream resumed on a third server with Last-Event-ID loses and repeats nothing',
    { timeout: 90_000 },
    async (t: TestContext) => {
      const databaseUrl = await freshPostgres(t);
      const servers = await startServers(t, databaseUrl, 3, { lease_s: 30, concurrency: 2 });
      const reader = await runsReader(t, databaseUrl);
      const prefix = randomBytes(3).toString('hex');
      const [first, second, third] = servers as [ScaleServer, ScaleServer, ScaleServer];
      // Ten tasks of 20 s: far longer than the test waits, so only an abort ends them.
      const tree = await createTree(first, treeSpec(`${prefix}-cancel`, 10, { ms: 20_000, jitter: 0 }));
      const early = await sseSubscribe(t, second.base, second.name, tree.root);
      const run = call<{ status: string }>(first.base, 'tasks.execute', { task_id: tree.root }).catch(
        (error: Error) => ({ status: error.message }),
      );
      const running = await eventually(async () => {
        const rows = (await reader.runs()).filter((row) => row.end === null);
        return rows.length >= 4 && new Set(rows.map((row) => row.server)).size >= 2 ? rows : undefined;
      }, 30_000);
      early.close();
      const seen = early.events.at(-1)?.seq ?? 0;

      const answer = await call<{ status: string }[]>(third.base, 'tasks.cancel', { task_ids: [tree.root] });
      assert.equal(answer[0]?.status, 'cancelled');
      assert.equal((await run).status, 'cancelled');
      // Every executor that was running (on whichever server) saw the abort and recorded its end.
      const ended = await eventually(async () => {
        const rows = (await reader.runs()).filter((row) => running.some((r) => r.id === row.id));
        return rows.every((row) => row.end !== null) ? rows : undefined;
      }, 20_000);
      assert.ok(ended.length >= 4);
      const tasks = await statuses(third, tree.root);
      assert.ok(
        tasks.every((task) => task.status === 'cancelled'),
        JSON.stringify(tasks.map((task) => task.status)),
      );

      const resumed = await sseSubscribe(t, third.base, third.name, tree.root, seen);
      await eventually(() => resumed.ended, 20_000);
      const log = await sseSubscribe(t, first.base, first.name, tree.root);
      await eventually(() => log.ended, 20_000);
      const together = [...early.events.filter((event) => event.seq <= seen), ...resumed.events];
      assert.deepEqual(
        together.map((event) => event.seq),
        log.events.map((event) => event.seq),
        'the first stream and its resumption make the whole log once',
      );
      assert.equal(together.at(-1)?.type, 'final');
    },
  );
});
