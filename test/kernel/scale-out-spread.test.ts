// Issue 10, end to end: several `apflow serve` processes on one PostgreSQL database, with nothing
// lost or run twice. Only the public surface is used: real server processes, JSON-RPC over HTTP,
// SSE and WebSocket clients, and a user executor (test/scale-out/executors/record-run.ts) that
// records every run in a table of its own (scale_runs) on the database clock.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { TaskEvent } from 'apflow';
import { eventually } from '../helpers.ts';
import { runsReader, type RunRow } from '../scale-out/runs.ts';
import { call, freshPostgres, startServers, type ScaleServer } from '../scale-out/servers.ts';
import { sseSubscribe, streamProblems, wsConnection, type TreeSubscription } from '../scale-out/subscribers.ts';
import { skip, treeSpec, createTree, executeAll, statuses, summary } from './scale-out-setup.ts';

describe('scale-out: several servers on one PostgreSQL', { skip }, () => {
  test(
    '2,000 tasks in 50 trees over three servers: each runs exactly once, work is spread, subscribers on every server get every event',
    { timeout: 170_000 },
    async (t) => {
      const databaseUrl = await freshPostgres(t);
      // Nothing dies here: a lease long enough that a busy 2-core machine never lets one lapse.
      const servers = await startServers(t, databaseUrl, 3, { lease_s: 5 });
      const reader = await runsReader(t, databaseUrl);
      const prefix = randomBytes(3).toString('hex');

      // 50 trees of 40 tasks; every fourth child waits for its two previous siblings.
      const trees = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          createTree(
            servers[i % 3] as ScaleServer,
            treeSpec(`${prefix}-t${i}`, 40, { ms: 0, jitter: 20, depends: (k) => (k % 4 === 3 ? [k - 1, k - 2] : []) }),
          ),
        ),
      );
      const allIds = trees.flatMap((tree) => tree.ids);
      assert.equal(allIds.length, 2000);

      // Subscribers before anything runs: SSE on the running server and on the next one, WebSocket
      // on the third (one socket per server for all its trees), so each tree is heard on every server.
      const sockets = await Promise.all(servers.map((server) => wsConnection(t, server.base, server.name)));
      const subscriptions = new Map<string, TreeSubscription[]>();
      await Promise.all(
        trees.map(async (tree, i) => {
          const other = servers[(i + 1) % 3] as ScaleServer;
          subscriptions.set(
            tree.root,
            await Promise.all([
              sseSubscribe(t, tree.server.base, tree.server.name, tree.root),
              sseSubscribe(t, other.base, other.name, tree.root),
              sockets[(i + 2) % 3]?.subscribe(tree.root) as Promise<TreeSubscription>,
            ]),
          );
        }),
      );

      const outcomes = await Promise.allSettled(executeAll(trees));
      const allSubs = [...subscriptions.values()].flat();
      // The streams end with the runs; give stragglers time, then judge what arrived.
      await eventually(() => allSubs.every((sub) => sub.ended), 20_000).catch(() => undefined);
      const runs = await reader.runs();
      const perServer = new Map<string, number>();
      for (const run of runs) perServer.set(run.server, (perServer.get(run.server) ?? 0) + 1);
      t.diagnostic(`runs per server: ${JSON.stringify(Object.fromEntries(perServer))}`);
      t.diagnostic(
        `subscribers that got stream_end: ${allSubs.filter((sub) => sub.ended).length} of ${allSubs.length}`,
      );

      await t.test(
        'every tasks.execute answers completed and every task is completed (read on another server)',
        async () => {
          const failed = outcomes.flatMap((outcome, i) =>
            outcome.status === 'rejected'
              ? [`tree ${i}: ${String(outcome.reason)}`]
              : outcome.value.status === 'completed'
                ? []
                : [`tree ${i}: ${outcome.value.status}`],
          );
          assert.deepEqual(failed, [], summary(failed));
          const notDone = (
            await Promise.all(trees.map((tree, i) => statuses(servers[(i + 1) % 3] as ScaleServer, tree.root)))
          )
            .flat()
            .filter((task) => task.status !== 'completed')
            .map((task) => `${task.id}: ${task.status} ${task.error ?? ''}`);
          assert.deepEqual(notDone, [], summary(notDone));
          const count = await call<{ total: number; completed: number }>(
            (servers[1] as ScaleServer).base,
            'tasks.count',
            {},
          );
          assert.deepEqual([count.total, count.completed], [2000, 2000], 'tasks.count: total and completed');
        },
      );

      await t.test('scale_runs holds exactly one run per task: nothing lost, nothing run twice', () => {
        const perTask = new Map<string, RunRow[]>();
        for (const run of runs) perTask.set(run.task_id, [...(perTask.get(run.task_id) ?? []), run]);
        const twice = [...perTask]
          .filter(([, list]) => list.length > 1)
          .map(([id, list]) => `${id}: ${list.length} runs on ${list.map((run) => run.server).join(', ')}`);
        assert.deepEqual(twice, [], `tasks run more than once: ${summary(twice)}`);
        const lost = allIds.filter((id) => !perTask.has(id));
        assert.deepEqual(lost, [], `tasks never run: ${summary(lost)}`);
        assert.equal(runs.length, 2000);
        assert.ok(
          runs.every((run) => run.end !== null),
          'every run ended',
        );
      });

      await t.test('the work was spread over more than one server', () => {
        assert.ok(perServer.size > 1, `runs per server: ${JSON.stringify(Object.fromEntries(perServer))}`);
      });

      await t.test(
        'every subscriber, on every server, got every event of its tree: seq gapless and increasing, then final',
        async () => {
          // The tree's whole event log, as a late reader replays it from the start.
          const logs = new Map<string, TaskEvent[]>();
          await Promise.all(
            trees.map(async (tree) => {
              const replay = await sseSubscribe(t, tree.server.base, tree.server.name, tree.root);
              await eventually(() => replay.ended, 20_000);
              logs.set(tree.root, replay.events);
            }),
          );
          const logProblems: string[] = [];
          for (const tree of trees) {
            const log = logs.get(tree.root) ?? [];
            if (log[0]?.seq !== 1) logProblems.push(`${tree.root}: the log starts at seq ${log[0]?.seq}`);
            if (log.some((event, i) => i > 0 && event.seq !== (log[i - 1] as TaskEvent).seq + 1))
              logProblems.push(`${tree.root}: the log has a gap`);
            if (log.at(-1)?.type !== 'final') logProblems.push(`${tree.root}: the log does not end with final`);
            const completed = new Set(
              log.filter((event) => event.type === 'task_completed').map((event) => event.task_id),
            );
            const missing = tree.ids.filter((id) => !completed.has(id));
            if (missing.length) logProblems.push(`${tree.root}: no task_completed for ${missing.length} task(s)`);
          }
          assert.deepEqual(logProblems, [], `event log: ${summary(logProblems)}`);

          const problems: string[] = [];
          const failing = new Map<string, number>();
          for (const tree of trees) {
            for (const sub of subscriptions.get(tree.root) ?? []) {
              const found = streamProblems(sub, logs.get(tree.root) ?? []);
              if (found.length === 0) continue;
              const where = sub.label.endsWith(`@${tree.server.name}`) ? 'on the running server' : 'on another server';
              failing.set(
                `${sub.label.split('@')[0]} ${where}`,
                (failing.get(`${sub.label.split('@')[0]} ${where}`) ?? 0) + 1,
              );
              problems.push(`${tree.root} (run on ${tree.server.name}), ${sub.label}: ${found.join('; ')}`);
            }
          }
          const stray = sockets.flatMap((socket) => socket.stray);
          assert.deepEqual(stray, [], `WebSocket messages outside any subscription: ${summary(stray)}`);
          assert.deepEqual(
            problems,
            [],
            `failing subscribers ${JSON.stringify(Object.fromEntries(failing))} of 150 (50 trees × sse on the running server, sse on another, ws on the third): ${summary(problems)}`,
          );
        },
      );
    },
  );
});
