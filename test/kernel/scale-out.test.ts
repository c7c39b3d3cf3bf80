// Issue 10, end to end: several `apflow serve` processes on one PostgreSQL database, with nothing
// lost or run twice. Only the public surface is used: real server processes, JSON-RPC over HTTP,
// SSE and WebSocket clients, and a user executor (test/scale-out/executors/record-run.ts) that
// records every run in a table of its own (scale_runs) on the database clock.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import type { TaskEvent } from 'apflow';
import { postgresAdminUrl } from '../databases.ts';
import { eventually, rpc } from '../helpers.ts';
import { maxOverlap, overlappingRuns, runsReader, someInstant, type RunRow } from '../scale-out/runs.ts';
import {
  call,
  flatten,
  freshPostgres,
  startServers,
  TERMINAL,
  type ScaleServer,
  type TreeTask,
} from '../scale-out/servers.ts';
import { sseSubscribe, streamProblems, wsConnection, type TreeSubscription } from '../scale-out/subscribers.ts';

if (!postgresAdminUrl && process.env.CI)
  throw new Error('CI must set APFLOW_TEST_POSTGRES_URL so the scale-out tests run');
const skip = postgresAdminUrl
  ? false
  : 'APFLOW_TEST_POSTGRES_URL is not set: scale-out needs PostgreSQL (bash scripts/postgres.sh start, then export the URL it prints)';

/** A task of the recording executor. */
interface TaskSpec {
  id: string;
  name: string;
  parent_id?: string;
  user_id?: string;
  dependencies?: string[];
  schemas: { method: 'record_run' };
  inputs: { ms: number; jitter: number };
  params?: Record<string, unknown>;
}

/**
 * A tree of `size` tasks: a root and its children; child k depends on child k - `depStride`
 * when `depStride` is given (chains, so the tree runs in waves).
 */
function treeSpec(
  root: string,
  size: number,
  options: {
    ms: number;
    jitter: number;
    user?: string;
    params?: Record<string, unknown>;
    depends?: (k: number) => number[];
  },
): TaskSpec[] {
  const base = {
    schemas: { method: 'record_run' as const },
    inputs: { ms: options.ms, jitter: options.jitter },
    ...(options.user ? { user_id: options.user } : {}),
    ...(options.params ? { params: options.params } : {}),
  };
  const tasks: TaskSpec[] = [{ id: root, name: root, ...base }];
  for (let k = 0; k < size - 1; k++) {
    const deps = options.depends?.(k) ?? [];
    tasks.push({
      id: `${root}-c${k}`,
      name: `${root}-c${k}`,
      parent_id: root,
      ...base,
      ...(deps.length ? { dependencies: deps.map((d) => `${root}-c${d}`) } : {}),
    });
  }
  return tasks;
}

/** A created tree, and the server that created and runs it. */
interface Tree {
  root: string;
  ids: string[];
  server: ScaleServer;
}

async function createTree(server: ScaleServer, tasks: TaskSpec[]): Promise<Tree> {
  const created = await call<TreeTask>(server.base, 'tasks.create', { tasks });
  return { root: created.id, ids: flatten(created).map((task) => task.id), server };
}

/** Starts `tasks.execute` of each tree on its own server; the promises settle when the runs end. */
function executeAll(trees: Tree[]) {
  return trees.map((tree) => call<{ status: string }>(tree.server.base, 'tasks.execute', { task_id: tree.root }));
}

/** The statuses of a tree's tasks, read on `server`. */
async function statuses(server: ScaleServer, root: string): Promise<TreeTask[]> {
  return flatten(await call<TreeTask>(server.base, 'tasks.tree', { task_id: root }));
}

const summary = (lines: string[], max = 15) =>
  `${lines.length} problem(s):\n${lines.slice(0, max).join('\n')}${lines.length > max ? `\n… and ${lines.length - max} more` : ''}`;

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

  test(
    'kill -9 of a server mid-run: the others finish its work, killed runs run again elsewhere, no task runs twice at once',
    { timeout: 120_000 },
    async (t) => {
      const databaseUrl = await freshPostgres(t);
      const servers = await startServers(t, databaseUrl, 3, { lease_s: 2 });
      const [victim, ...survivors] = servers as [ScaleServer, ScaleServer, ScaleServer];
      const reader = await runsReader(t, databaseUrl);
      const prefix = randomBytes(3).toString('hex');

      // 10 trees of 20 slow tasks in chains of five (child k waits for child k - 4), one retry each.
      const params = { retries: 1, retry_delay_s: 0.2 };
      const trees = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          createTree(
            servers[i % 3] as ScaleServer,
            treeSpec(`${prefix}-k${i}`, 20, { ms: 200, jitter: 200, params, depends: (k) => (k >= 4 ? [k - 4] : []) }),
          ),
        ),
      );
      // The victim's answers never come (its connections die with it); the others' are not needed.
      for (const execution of executeAll(trees)) execution.catch(() => undefined);

      // Mid-run: the victim has finished some runs and has others in progress.
      await eventually(async () => {
        const mine = (await reader.runs()).filter((run) => run.server === victim.name);
        return mine.some((run) => run.end !== null) && mine.filter((run) => run.end === null).length >= 2;
      }, 30_000);
      const killedAt = await reader.now();
      process.kill(victim.pid, 'SIGKILL');
      await victim.proc.exited;
      const cutShort = (await reader.runs()).filter((run) => run.server === victim.name && run.end === null);
      t.diagnostic(`killed ${victim.name} (pid ${victim.pid}) with ${cutShort.length} run(s) in progress`);
      assert.ok(cutShort.length >= 2, 'the victim was killed with runs in progress');

      // Every tree ends, as the survivors tell (lease expiry, 2 s, plus a generous margin).
      await eventually(async () => {
        const roots = await Promise.all(
          trees.map((tree, i) =>
            call<TreeTask | null>((survivors[i % 2] as ScaleServer).base, 'tasks.get', { task_id: tree.root }),
          ),
        );
        return roots.every((root) => root && TERMINAL.has(root.status));
      }, 30_000);
      const runs = await reader.runs();
      const perServer = new Map<string, number>();
      for (const run of runs) perServer.set(run.server, (perServer.get(run.server) ?? 0) + 1);
      t.diagnostic(`runs per server: ${JSON.stringify(Object.fromEntries(perServer))}`);

      await t.test('every task completed (one retry covers the kill)', async () => {
        const notDone = (
          await Promise.all(trees.map((tree, i) => statuses(survivors[i % 2] as ScaleServer, tree.root)))
        )
          .flat()
          .filter((task) => task.status !== 'completed')
          .map((task) => `${task.id}: ${task.status} ${task.error ?? ''}`);
        assert.deepEqual(notDone, [], summary(notDone));
      });

      await t.test('no task had two runs at once (a run cut short ends when its server was killed)', () => {
        const intervals = runs.map((run) => ({
          ...run,
          end: run.end ?? (run.server === victim.name ? Math.max(run.start, killedAt) : Infinity),
        }));
        const overlaps = overlappingRuns(intervals);
        assert.deepEqual(overlaps, [], summary(overlaps));
      });

      await t.test(
        'the survivors ran each task at most once, and every run of theirs ended before its tree did',
        () => {
          const bySurvivors = new Map<string, RunRow[]>();
          for (const run of runs)
            if (run.server !== victim.name)
              bySurvivors.set(run.task_id, [...(bySurvivors.get(run.task_id) ?? []), run]);
          const twice = [...bySurvivors]
            .filter(([, list]) => list.length > 1)
            .map(
              ([id, list]) =>
                `${id}: ${list.map((run) => `${run.server} [${run.start}, ${run.end ?? 'running'})`).join(', ')}`,
            );
          assert.deepEqual(twice, [], `run twice by the surviving servers: ${summary(twice)}`);
          const unended = runs
            .filter((run) => run.end === null && run.server !== victim.name)
            .map((run) => `${run.task_id} on ${run.server}`);
          assert.deepEqual(unended, [], `runs still going after their tree ended: ${summary(unended)}`);
        },
      );

      await t.test('each task cut short by the kill ran again, to its end, on another server', () => {
        const missing = cutShort
          .filter(
            (killed) =>
              !runs.some(
                (run) =>
                  run.task_id === killed.task_id &&
                  run.server !== victim.name &&
                  run.start >= killed.start &&
                  run.end !== null,
              ),
          )
          .map((killed) => killed.task_id);
        assert.deepEqual(missing, [], `not run again elsewhere: ${summary(missing)}`);
      });
    },
  );

  test(
    'engine.per_user_concurrency holds across servers: alice never has more than 2 runs at once, bob is not held back by her',
    { timeout: 90_000 },
    async (t: TestContext) => {
      const databaseUrl = await freshPostgres(t);
      const servers = await startServers(t, databaseUrl, 3, { lease_s: 2, per_user_concurrency: 2 });
      const reader = await runsReader(t, databaseUrl);
      const prefix = randomBytes(3).toString('hex');

      // alice: 6 trees × 5 tasks of ~100 ms, two trees run by each server; bob: 3 trees × 5 of ~300 ms.
      const specs = [
        ...Array.from({ length: 6 }, (_, i) => ({
          server: i % 3,
          tasks: treeSpec(`${prefix}-alice${i}`, 5, { ms: 100, jitter: 20, user: 'alice' }),
        })),
        ...Array.from({ length: 3 }, (_, i) => ({
          server: i % 3,
          tasks: treeSpec(`${prefix}-bob${i}`, 5, { ms: 300, jitter: 20, user: 'bob' }),
        })),
      ];
      const trees = await Promise.all(specs.map((spec) => createTree(servers[spec.server] as ScaleServer, spec.tasks)));
      const outcomes = await Promise.allSettled(executeAll(trees));
      const runs = await reader.runs();
      const alice = runs.filter((run) => run.user_id === 'alice').map((run) => ({ ...run, end: run.end ?? Infinity }));
      const bob = runs.filter((run) => run.user_id === 'bob').map((run) => ({ ...run, end: run.end ?? Infinity }));
      // Which server runs alice's tasks is the engine's choice (one may take them all); her trees
      // were started on all three, so each server was free to run her tasks had it ignored the limit.
      t.diagnostic(
        `alice: ${alice.length} runs on ${[...new Set(alice.map((run) => run.server))].join(', ')}, at most ${maxOverlap(alice)} at once; bob: ${bob.length} runs, at most ${maxOverlap(bob)} at once`,
      );

      await t.test('every tree completed', () => {
        const failed = outcomes.flatMap((outcome, i) =>
          outcome.status === 'rejected'
            ? [`tree ${i}: ${String(outcome.reason)}`]
            : outcome.value.status === 'completed'
              ? []
              : [`tree ${i}: ${outcome.value.status}`],
        );
        assert.deepEqual(failed, [], summary(failed));
        assert.equal(alice.length, 30);
        assert.equal(bob.length, 15);
      });

      await t.test('at most 2 of alice’s runs at any instant, and 2 at some instant', () => {
        assert.equal(maxOverlap(alice), 2);
        assert.ok(maxOverlap(bob) <= 2, `bob had ${maxOverlap(bob)} runs at once`);
      });

      await t.test('bob ran while alice was at her limit', () => {
        assert.ok(someInstant(alice, 2, bob, 1), 'no instant with 2 runs of alice and one of bob');
      });
    },
  );

  test(
    'a run started with X-LLM-API-KEY stays on the server holding the key; the others still share unpinned work',
    { timeout: 90_000 },
    async (t: TestContext) => {
      const databaseUrl = await freshPostgres(t);
      const servers = await startServers(t, databaseUrl, 3, { lease_s: 2, concurrency: 4 });
      const reader = await runsReader(t, databaseUrl);
      const prefix = randomBytes(3).toString('hex');
      const holder = servers[1] as ScaleServer;
      const pinned = treeSpec(`${prefix}-pinned`, 24, { ms: 30, jitter: 10 });
      const free = treeSpec(`${prefix}-free`, 24, { ms: 30, jitter: 10 });
      await call(holder.base, 'tasks.create', { tasks: free });
      // The key comes with the request that creates and runs the tree (tasks.execute with tasks).
      const keyed = rpc(
        holder.base,
        '/tasks',
        { jsonrpc: '2.0', id: 1, method: 'tasks.execute', params: { tasks: pinned } },
        { 'x-llm-api-key': 'sk-test-only-here' },
      );
      const outcomes = await Promise.all([
        keyed,
        call<{ status: string }>(holder.base, 'tasks.execute', { task_id: `${prefix}-free` }),
      ]);
      assert.equal(
        (outcomes[0].body as { result?: { status: string } }).result?.status,
        'completed',
        JSON.stringify(outcomes[0].body),
      );
      assert.equal(outcomes[1].status, 'completed');
      const runs = await reader.runs();
      const where = (root: string) => new Set(runs.filter((run) => run.root_task_id === root).map((run) => run.server));
      assert.equal(runs.filter((run) => run.root_task_id === `${prefix}-pinned`).length, 24);
      assert.deepEqual(
        [...where(`${prefix}-pinned`)],
        [holder.name],
        'every task of the keyed run ran on the server holding the key',
      );
      assert.ok(
        where(`${prefix}-free`).size > 1,
        `the run without a key was shared (ran on ${[...where(`${prefix}-free`)].join(', ')})`,
      );
    },
  );

  test(
    'a server stopped gracefully hands its running tasks back: another server runs them, nothing is lost or failed',
    { timeout: 90_000 },
    async (t: TestContext) => {
      const databaseUrl = await freshPostgres(t);
      // No grace: running tasks are handed back at once.
      const servers = await startServers(
        t,
        databaseUrl,
        2,
        { lease_s: 30, concurrency: 4 },
        { server: { shutdown_timeout_s: 0 } },
      );
      const reader = await runsReader(t, databaseUrl);
      const prefix = randomBytes(3).toString('hex');
      const [stopping, staying] = servers as [ScaleServer, ScaleServer];
      const tree = await createTree(stopping, treeSpec(`${prefix}-handback`, 12, { ms: 800, jitter: 50 }));
      const run = call<{ status: string }>(staying.base, 'tasks.execute', { task_id: tree.root }).catch(
        (error: Error) => ({ status: error.message }),
      );
      await eventually(
        async () => (await reader.runs()).some((row) => row.server === stopping.name && row.end === null),
        30_000,
      );
      stopping.proc.child.kill('SIGTERM');
      await stopping.proc.exited;
      // Leases are 30 s: only a hand-back (not an expiry) lets the other server finish within the wait.
      const outcome = await run;
      assert.equal(outcome.status, 'completed');
      const tasks = await statuses(staying, tree.root);
      assert.ok(
        tasks.every((task) => task.status === 'completed'),
        JSON.stringify(tasks.filter((task) => task.status !== 'completed')),
      );
      const runs = await reader.runs();
      const cut = runs.filter(
        (row) =>
          row.server === stopping.name &&
          row.end !== null &&
          runs.some((other) => other.task_id === row.task_id && other.id !== row.id),
      );
      assert.ok(cut.length > 0, 'some tasks were running on the stopped server and ran again on the other');
      for (const row of cut)
        assert.ok(
          runs.some((other) => other.task_id === row.task_id && other.server === staying.name),
          `${row.task_id} ran again on ${staying.name}`,
        );
    },
  );

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
