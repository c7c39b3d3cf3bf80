import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createApp, isApflowError, type App, type TaskEvent } from 'apflow';
import { testDatabases } from '../databases.ts';
import { eventually, memoryLog, repoRoot } from '../helpers.ts';
import { aborted, counters, runs } from '../fixtures/executors/_runs.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

async function engineApp(t: TestContext, url: string, engine: Record<string, unknown> = {}): Promise<App> {
  const app = await createApp({
    env: {},
    logStream: memoryLog().stream,
    inline: {
      database: { url },
      executors: { dirs: [fixtures] },
      examples: { auto_init: false },
      log: { level: 'warn' },
      engine,
    },
  });
  t.after(() => app.close());
  return app;
}

/** Creates and runs a tree; resolves with the outcome and every event the run announced. */
async function runTree(app: App, tasks: unknown[], options: { userId?: string } = {}) {
  const tree = await app.engine.createTree(tasks, { userId: options.userId });
  const events: TaskEvent[] = [];
  const stop = app.engine.subscribe((event) => event.root_task_id === tree.id && events.push(event));
  const { done } = await app.engine.execute(tree.id);
  const outcome = await done;
  stop();
  return { tree, outcome, events, rows: new Map((await app.tasks.tree(tree.id)).map((row) => [row.id, row])) };
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  assert.ok(isApflowError(error), String(error));
  return error.message;
}

for (const db of testDatabases()) {
  describe(`task engine on ${db.name}`, () => {
    test('tree creation rejects bad arrays with the original messages and stores nothing', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const cases: [unknown, RegExp][] = [
        [[], /^Tasks array cannot be empty$/],
        ['nope', /tasks must be an array of task objects/],
        [[{ id: 'a' }], /^Task at index 0 must have a 'name' field$/],
        [
          [
            { id: 'a', name: 'A' },
            { name: 'B', parent_id: 'a' },
          ],
          /^Mixed mode not supported: .*index 1/,
        ],
        [
          [
            { id: 'a', name: 'A' },
            { id: 'a', name: 'B', parent_id: 'a' },
          ],
          /^Duplicate task id 'a' at index 1$/,
        ],
        [[{ name: 'A' }, { name: 'A', parent_id: 'A' }], /^Duplicate task name 'A' at index 1/],
        [
          [
            { id: 'a', name: 'A' },
            { id: 'b', name: 'B', parent_id: 'zzz' },
          ],
          /parent_id 'zzz' is not in the tasks array/,
        ],
        [[{ id: 'a', name: 'A', dependencies: [{ id: 'ghost' }] }], /dependency 'ghost' is not in the tasks array/],
        [[{ id: 'a', name: 'A', dependencies: [{ required: true }] }], /each dependency needs an 'id' or 'name'/],
        [
          [
            { id: 'r', name: 'R' },
            { id: 'a', name: 'A', parent_id: 'r', dependencies: ['b'] },
            { id: 'b', name: 'B', parent_id: 'r', dependencies: [{ id: 'a' }] },
          ],
          /^Circular dependency detected: (a -> b -> a|b -> a -> b)\./,
        ],
        [
          [
            { id: 'a', name: 'A' },
            { id: 'b', name: 'B' },
          ],
          /^Multiple root tasks found: \[A, B\]/,
        ],
        [
          [
            { id: 'a', name: 'A', parent_id: 'b' },
            { id: 'b', name: 'B', parent_id: 'a' },
          ],
          /^No root task found/,
        ],
        [
          [
            { id: 'r', name: 'R' },
            { id: 'a', name: 'A', parent_id: 'b' },
            { id: 'b', name: 'B', parent_id: 'a' },
          ],
          /^Tasks not in the same tree: \[a, b\]/,
        ],
        [
          [
            { id: 'r', name: 'R' },
            { id: 'c', name: 'C', parent_id: 'r', dependencies: ['r'] },
          ],
          /could never run: .*cannot depend on its ancestor/,
        ],
        [[{ id: 'a', name: 'A', priority: 'high' }], /'priority' must be a whole number/],
        [[{ id: 'a', name: 'A', inputs: [1] }], /'inputs' must be an object/],
        [
          [
            { id: 'a', name: 'A', user_id: 'u1' },
            { id: 'b', name: 'B', parent_id: 'a', user_id: 'u2' },
          ],
          /^All tasks must have the same user_id. Found multiple user_ids: u1, u2$/,
        ],
      ];
      for (const [tasks, expected] of cases) {
        assert.match(await rejection(app.engine.createTree(tasks)), expected, JSON.stringify(tasks));
      }
      assert.deepEqual(await app.tasks.list({ root_only: false }), [], 'a rejected tree leaves nothing behind');
    });

    test('created trees have the original JSON shape; names are references when there are no ids', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const tree = await app.engine.createTree([
        { name: 'root', user_id: 'u1', dependencies: [{ name: 'child' }] },
        { name: 'child', parent_id: 'root', priority: 0, inputs: { x: 1 }, schemas: { method: 'echo' } },
      ]);
      assert.deepEqual(Object.keys(tree), [
        'id',
        'parent_id',
        'user_id',
        'name',
        'status',
        'priority',
        'dependencies',
        'inputs',
        'params',
        'result',
        'error',
        'schemas',
        'progress',
        'created_at',
        'started_at',
        'updated_at',
        'completed_at',
        'has_children',
        'original_task_id',
        'has_copy',
        'children',
      ]);
      const child = tree.children?.[0];
      assert.ok(child);
      assert.equal(child.children, undefined, 'leaves have no children key');
      assert.equal(child.parent_id, tree.id);
      assert.equal(child.user_id, 'u1');
      assert.deepEqual(tree.dependencies, [{ id: child.id, required: true, type: 'result' }]);
      assert.equal(tree.status, 'pending');
      assert.equal(tree.priority, 1);
      assert.equal(tree.progress, 0);
      assert.equal(tree.has_children, true);
      assert.match(tree.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const stored = await app.tasks.get(child.id);
      assert.deepEqual(stored?.inputs, { x: 1 });
      assert.equal(stored?.priority, 0);
    });

    test('an id that already exists gets a fresh UUID, and references follow it', async (t) => {
      const app = await engineApp(t, await db.create(t));
      await app.engine.createTree([{ id: 'same', name: 'first' }]);
      const second = await app.engine.createTree([
        { id: 'same', name: 'second' },
        { id: 'kid', name: 'kid', parent_id: 'same' },
      ]);
      assert.notEqual(second.id, 'same');
      assert.match(second.id, /^[0-9a-f-]{36}$/);
      assert.equal(second.children?.[0]?.parent_id, second.id);
    });

    test('dependencies gate tasks, parents run after their children, results merge into inputs', async (t) => {
      const app = await engineApp(t, await db.create(t));
      runs().length = 0;
      const { outcome, rows } = await runTree(app, [
        { id: 'root', name: 'root', schemas: { method: 'echo' }, dependencies: ['b'] },
        { id: 'a', name: 'a', parent_id: 'root', schemas: { method: 'sleep' }, inputs: { ms: 40, tag: 'A' } },
        {
          id: 'b',
          name: 'b',
          parent_id: 'root',
          schemas: { method: 'sleep' },
          inputs: { ms: 5 },
          dependencies: [{ id: 'a' }],
        },
        {
          id: 'c',
          name: 'c',
          parent_id: 'root',
          schemas: { method: 'sleep', input_schema: { properties: { slept: {} } } },
          dependencies: ['a'],
        },
      ]);
      assert.equal(outcome.status, 'completed');
      const byTask = new Map(runs().map((run) => [run.task.slice(-1), run]));
      const [a, b, c] = ['a', 'b', 'c'].map((id) => rows.get(id) ?? [...rows.values()].find((row) => row.name === id));
      assert.ok(a && b && c);
      const runA = runs().find((run) => run.task === a.id);
      const runB = runs().find((run) => run.task === b.id);
      assert.ok(runA?.end && runB && runB.start >= runA.end, 'b starts after a finished');
      assert.deepEqual(
        b.inputs?.[a.id],
        { slept: 40, task: a.id },
        'no input schema: the whole result under the dependency id',
      );
      assert.equal(c.inputs?.slept, 40, 'input_schema.properties: fields copied by name');
      const root = rows.get(outcome.root_task_id);
      assert.ok(root?.started_at && b.completed_at && Date.parse(root.started_at) >= Date.parse(b.completed_at));
      assert.ok(
        root && c.completed_at && Date.parse(root.started_at as string) >= Date.parse(c.completed_at),
        'the parent waits for every child',
      );
      assert.deepEqual((root?.result as Record<string, unknown>)[b.id], { slept: 5, task: b.id });
      assert.equal(byTask.size > 0, true);
      for (const row of rows.values()) {
        assert.equal(row.status, 'completed');
        assert.equal(row.progress, 1);
        assert.equal(row.error, null);
        assert.ok(row.completed_at);
      }
    });

    test('lower priority numbers run first (0 is the most urgent); concurrency caps parallel runs', async (t) => {
      const app = await engineApp(t, await db.create(t), { concurrency: 1 });
      runs().length = 0;
      const { rows } = await runTree(app, [
        { id: 'root', name: 'root', schemas: { method: 'noop' } },
        { id: 'p3', name: 'p3', parent_id: 'root', priority: 3, schemas: { method: 'sleep' }, inputs: { ms: 5 } },
        { id: 'p0', name: 'p0', parent_id: 'root', priority: 0, schemas: { method: 'sleep' }, inputs: { ms: 5 } },
        { id: 'p1', name: 'p1', parent_id: 'root', priority: 1, schemas: { method: 'sleep' }, inputs: { ms: 5 } },
        { id: 'p2', name: 'p2', parent_id: 'root', priority: 2, schemas: { method: 'sleep' }, inputs: { ms: 5 } },
      ]);
      const order = runs().map((run) => [...rows.values()].find((row) => row.id === run.task)?.name);
      assert.deepEqual(order, ['p0', 'p1', 'p2', 'p3']);
    });

    test('ready tasks run in parallel up to engine.concurrency, and per user up to engine.per_user_concurrency', async (t) => {
      const app = await engineApp(t, await db.create(t), { concurrency: 3, per_user_concurrency: 2 });
      runs().length = 0;
      const leaves = (prefix: string) =>
        Array.from({ length: 6 }, (_, i) => ({
          id: `${prefix}${i}`,
          name: `${prefix}${i}`,
          parent_id: `${prefix}root`,
          schemas: { method: 'sleep' },
          inputs: { ms: 40 },
        }));
      const treeA = await app.engine.createTree(
        [{ id: 'Aroot', name: 'Aroot', schemas: { method: 'noop' } }, ...leaves('A')],
        { userId: 'alice' },
      );
      const treeB = await app.engine.createTree(
        [{ id: 'Broot', name: 'Broot', schemas: { method: 'noop' } }, ...leaves('B')],
        { userId: 'bob' },
      );
      const treeC = await app.engine.createTree(
        [{ id: 'Croot', name: 'Croot', schemas: { method: 'noop' } }, ...leaves('C')],
        { userId: 'alice' },
      );
      const runsOf = await Promise.all([treeA, treeB, treeC].map((tree) => app.engine.execute(tree.id)));
      await Promise.all(runsOf.map((run) => run.done));
      const owner = new Map<string, string>();
      for (const tree of [treeA, treeB, treeC])
        for (const row of await app.tasks.tree(tree.id)) owner.set(row.id, row.user_id as string);
      const overlapMax = (filter: (task: string) => boolean) => {
        const marks = runs()
          .filter((run) => filter(run.task))
          .flatMap(
            (run) =>
              [
                [run.start, 1],
                [run.end as number, -1],
              ] as const,
          );
        marks.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
        let now = 0;
        let max = 0;
        for (const [, delta] of marks) max = Math.max(max, (now += delta));
        return max;
      };
      assert.equal(runs().length, 18);
      assert.equal(
        overlapMax(() => true),
        3,
        'the global limit is reached and never passed',
      );
      assert.ok(overlapMax((task) => owner.get(task) === 'alice') <= 2, 'alice never runs more than 2 at once');
      assert.ok(overlapMax((task) => owner.get(task) === 'bob') <= 2, 'bob never runs more than 2 at once');
    });

    test('a failed required dependency fails its dependents; optional ones do not block', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const { outcome, rows, events } = await runTree(app, [
        { id: 'root', name: 'root', schemas: { method: 'noop' }, dependencies: ['mid'] },
        { id: 'bad', name: 'bad', parent_id: 'root', schemas: { method: 'fail' }, inputs: { message: 'disk on fire' } },
        { id: 'mid', name: 'mid', parent_id: 'root', schemas: { method: 'noop' }, dependencies: ['bad'] },
        {
          id: 'soft',
          name: 'soft',
          parent_id: 'root',
          schemas: { method: 'echo' },
          dependencies: [{ id: 'bad', required: false }],
        },
      ]);
      const get = (name: string) => [...rows.values()].find((row) => row.name === name);
      assert.equal(get('bad')?.status, 'failed');
      assert.equal(get('bad')?.error, 'disk on fire');
      assert.equal(get('mid')?.status, 'failed');
      assert.equal(get('mid')?.error, `dependency ${get('bad')?.id} failed`);
      assert.equal(get('root')?.error, `dependency ${get('mid')?.id} failed`);
      assert.equal(get('soft')?.status, 'completed');
      assert.equal(outcome.status, 'failed');
      assert.equal(events.at(-1)?.type, 'final');
      assert.equal(events.at(-1)?.status, 'failed');
    });

    test('executor choice: params.executor_id, then schemas.method, then the name; no match names what exists', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const { rows } = await runTree(app, [
        {
          id: 'r',
          name: 'noop',
          schemas: { method: 'missing' },
          params: { executor_id: 'echo' },
          inputs: { via: 'executor_id' },
        },
        { id: 'm', name: 'nothing', parent_id: 'r', schemas: { method: 'echo' }, inputs: { via: 'method' } },
        { id: 'n', name: 'echo', parent_id: 'r', inputs: { via: 'name' } },
        { id: 'x', name: 'mystery', parent_id: 'r', schemas: { method: 'does_not_exist' } },
      ]);
      const get = (name: string) => [...rows.values()].find((row) => row.name === name);
      assert.deepEqual((get('nothing')?.result as Record<string, unknown>).via, 'method');
      assert.deepEqual((get('echo')?.result as Record<string, unknown>).via, 'name');
      assert.equal((get('noop')?.result as Record<string, unknown>).via, 'executor_id');
      assert.equal(get('mystery')?.status, 'failed');
      assert.match(
        get('mystery')?.error ?? '',
        /^No executor for task 'mystery': asked for schemas\.method 'does_not_exist', name 'mystery'; registered executors: .*echo.*noop/,
      );
    });

    test('inputs are checked against the executor schema before it runs', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const { rows } = await runTree(app, [
        { id: 'r', name: 'r', schemas: { method: 'typed' }, inputs: { name: 42 } },
        { id: 'ok', name: 'ok', parent_id: 'r', schemas: { method: 'typed' }, inputs: { name: 'Ada' } },
      ]);
      const [r, ok] = ['r', 'ok'].map((name) => [...rows.values()].find((row) => row.name === name));
      assert.equal(ok?.status, 'completed');
      assert.deepEqual(ok?.result, { greeting: 'hello Ada' });
      assert.equal(r?.status, 'failed');
      assert.match(r?.error ?? '', /^Invalid inputs for executor 'typed': \/name must be string/);
    });

    test('params.timeout_s fails a task that runs too long, and aborts its executor', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const { rows } = await runTree(app, [
        { id: 'slow', name: 'slow', schemas: { method: 'hang' }, params: { timeout_s: 0.2 } },
      ]);
      const slow = [...rows.values()][0];
      assert.equal(slow?.status, 'failed');
      assert.equal(slow?.error, 'Timeout: the task ran longer than 0.2s');
      assert.ok(slow && aborted().has(slow.id));
    });

    test('params.retries retries with backoff, then succeeds; exhausted retries fail', async (t) => {
      const app = await engineApp(t, await db.create(t));
      counters().clear();
      const { rows, events } = await runTree(app, [
        { id: 'r', name: 'r', schemas: { method: 'noop' } },
        {
          id: 'twice',
          name: 'twice',
          parent_id: 'r',
          schemas: { method: 'flaky' },
          inputs: { failures: 2 },
          params: { retries: 2, retry_delay_s: 0.02 },
        },
        {
          id: 'never',
          name: 'never',
          parent_id: 'r',
          schemas: { method: 'flaky' },
          inputs: { failures: 5 },
          params: { retries: 1, retry_delay_s: 0.02 },
        },
      ]);
      const get = (name: string) => [...rows.values()].find((row) => row.name === name);
      assert.equal(get('twice')?.status, 'completed');
      assert.deepEqual(get('twice')?.result, { attempts: 3 });
      assert.equal(get('twice')?.attempts, 3);
      assert.equal(get('never')?.status, 'failed');
      assert.equal(get('never')?.error, 'flaky failure 2');
      assert.equal(get('never')?.attempts, 2);
      assert.ok(events.some((event) => event.message?.startsWith('Retrying in 0.02s (attempt 2 of 3)')));
    });

    test('cancel stops a running subtree: executors see the abort, the tree ends cancelled', async (t) => {
      const app = await engineApp(t, await db.create(t));
      aborted().clear();
      const tree = await app.engine.createTree([
        { id: 'root', name: 'root', schemas: { method: 'noop' } },
        { id: 'h1', name: 'h1', parent_id: 'root', schemas: { method: 'hang' } },
        { id: 'h2', name: 'h2', parent_id: 'root', schemas: { method: 'hang' } },
      ]);
      const events: TaskEvent[] = [];
      app.engine.subscribe((event) => events.push(event));
      const { done } = await app.engine.execute(tree.id);
      const children = (tree.children ?? []).map((child) => child.id);
      await eventually(async () => (await app.tasks.getMany(children)).every((row) => row.status === 'in_progress'));
      const results = await app.engine.cancel([tree.id]);
      assert.deepEqual(results, [{ task_id: tree.id, status: 'cancelled', message: 'Cancelled by user' }]);
      const outcome = await done;
      assert.equal(outcome.status, 'cancelled');
      for (const id of children) assert.ok(aborted().has(id), `executor of ${id} was aborted`);
      for (const row of await app.tasks.tree(tree.id)) {
        assert.equal(row.status, 'cancelled');
        assert.equal(row.error, 'Cancelled by user');
      }
      assert.equal(events.filter((event) => event.type === 'task_cancelled').length, 3);
      assert.equal(events.at(-1)?.type, 'final');
      const again = await app.engine.cancel([tree.id, 'no-such-task']);
      assert.deepEqual(again, [
        {
          task_id: tree.id,
          status: 'failed',
          message: `Task ${tree.id} is already cancelled, cannot cancel`,
          current_status: 'cancelled',
        },
        { task_id: 'no-such-task', status: 'failed', message: 'Task no-such-task not found', error: 'Task not found' },
      ]);
    });

    test('events: persisted before announced, seq grows by one per tree, a final event closes every run', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const seen: { event: TaskEvent; stored: Promise<string | undefined> }[] = [];
      app.engine.subscribe((event) =>
        seen.push({ event, stored: app.tasks.get(event.task_id).then((row) => row?.status) }),
      );
      const { events, outcome } = await runTree(app, [
        { id: 'r', name: 'r', schemas: { method: 'noop' } },
        { id: 's', name: 's', parent_id: 'r', schemas: { method: 'sleep' }, inputs: { ms: 5 } },
      ]);
      assert.deepEqual(
        events.map((event) => event.seq),
        events.map((_, i) => i + 1),
      );
      assert.deepEqual(
        events.map((event) => event.type),
        ['progress', 'task_start', 'progress', 'task_completed', 'task_start', 'task_completed', 'final'],
      );
      const halfway = events.find((event) => event.message === 'half way');
      assert.equal(halfway?.progress, 0.5);
      for (const { event, stored } of seen) {
        if (event.type === 'task_start')
          assert.notEqual(await stored, 'pending', 'a started task is stored in_progress (or later) when announced');
        if (event.type === 'task_completed') assert.equal(await stored, 'completed');
      }
      assert.equal(outcome.status, 'completed');
      assert.deepEqual(
        await app.tasks.events(outcome.root_task_id),
        events,
        'the event log holds exactly what was announced',
      );
      assert.deepEqual(await app.tasks.events(outcome.root_task_id, 5), events.slice(5), 'and resumes after a seq');
      const final = events.at(-1) as TaskEvent;
      assert.equal(final.task_id, outcome.root_task_id);
      assert.deepEqual(
        Object.keys(final).sort(),
        ['progress', 'result', 'root_task_id', 'seq', 'status', 'task_id', 'timestamp', 'type'].sort(),
      );
    });

    test('executing a finished tree runs its failed and completed tasks again; running trees refuse a second run', async (t) => {
      const app = await engineApp(t, await db.create(t));
      counters().clear();
      const first = await runTree(app, [
        { id: 'r', name: 'r', schemas: { method: 'noop' }, dependencies: ['f'] },
        { id: 'f', name: 'f', parent_id: 'r', schemas: { method: 'flaky' }, inputs: { failures: 1 } },
        { id: 's', name: 's', parent_id: 'r', schemas: { method: 'sleep' }, inputs: { ms: 300 } },
      ]);
      assert.equal(first.outcome.status, 'failed');
      const { done } = await app.engine.execute(first.tree.id);
      await assert.rejects(app.engine.execute(first.tree.id), /is already running/);
      const second = await done;
      assert.equal(second.status, 'completed');
      for (const row of await app.tasks.tree(first.tree.id)) assert.equal(row.status, 'completed');
      await assert.rejects(app.engine.execute('missing-id'), /Task missing-id not found/);
    });

    test('trees created and run at the same moment share transactions, and each gets its own answer', async (t) => {
      const app = await engineApp(t, await db.create(t));
      const heard: TaskEvent[] = [];
      app.engine.subscribe((event) => heard.push(event));
      // Forty single-task trees and a three-task one, all at once; two of them ask for the same id.
      const creations = await Promise.allSettled([
        ...Array.from({ length: 40 }, (_, i) =>
          app.engine.createTree([{ id: `job-${i}`, name: `job ${i}`, schemas: { method: 'noop' }, inputs: { n: i } }]),
        ),
        app.engine.createTree([{ id: 'same', name: 'first', schemas: { method: 'noop' } }]),
        app.engine.createTree([{ id: 'same', name: 'second', schemas: { method: 'noop' } }]),
        app.engine.createTree([
          { id: 'big', name: 'big', schemas: { method: 'noop' } },
          { id: 'big-a', name: 'a', parent_id: 'big', schemas: { method: 'sleep' }, inputs: { ms: 200 } },
          { id: 'big-b', name: 'b', parent_id: 'big', schemas: { method: 'noop' }, dependencies: ['big-a'] },
        ]),
      ]);
      assert.deepEqual(
        creations.filter((each) => each.status === 'rejected'),
        [],
        'every tree is stored',
      );
      const ids = creations.map((each) => (each as PromiseFulfilledResult<{ id: string }>).value.id);
      assert.equal(
        ids.filter((id) => id === 'same').length,
        1,
        'a given id taken by a tree created at the same time gets a fresh UUID',
      );
      assert.equal(new Set(ids).size, ids.length);
      // Every run at once, plus a second run of a tree starting now and a run of a missing task.
      const starts = await Promise.allSettled([...ids, 'big', 'nowhere'].map((id) => app.engine.execute(id)));
      const failures = starts.flatMap((each) => (each.status === 'rejected' ? [(each.reason as Error).message] : []));
      assert.deepEqual(failures.sort(), ['Task big is already running', 'Task nowhere not found']);
      const outcomes = await Promise.all(
        starts.flatMap((each) => (each.status === 'fulfilled' ? [each.value.done] : [])),
      );
      assert.equal(outcomes.length, ids.length);
      for (const outcome of outcomes) assert.equal(outcome.status, 'completed', outcome.root_task_id);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.root_task_id).sort(),
        [...ids].sort(),
        'each run answers with its own tree',
      );
      for (const id of ids) {
        const events = await app.tasks.events(id);
        assert.deepEqual(
          events.map((event) => event.seq),
          events.map((_, i) => i + 1),
          `${id}: seq without gaps`,
        );
        assert.equal(events.filter((event) => event.type === 'final').length, 1, `${id}: one final event`);
        assert.deepEqual(
          heard.filter((event) => event.root_task_id === id),
          events,
          `${id}: announced as logged`,
        );
      }
      assert.deepEqual((await app.tasks.get('job-7'))?.result, { ok: true });
    });

    test('executing one child runs it and its dependencies only', async (t) => {
      const app = await engineApp(t, await db.create(t));
      runs().length = 0;
      const tree = await app.engine.createTree([
        { id: 'r', name: 'r', schemas: { method: 'noop' } },
        { id: 'dep', name: 'dep', parent_id: 'r', schemas: { method: 'sleep' }, inputs: { ms: 1 } },
        {
          id: 'target',
          name: 'target',
          parent_id: 'r',
          schemas: { method: 'sleep' },
          inputs: { ms: 1 },
          dependencies: ['dep'],
        },
        { id: 'other', name: 'other', parent_id: 'r', schemas: { method: 'sleep' }, inputs: { ms: 1 } },
      ]);
      const target = (tree.children ?? []).find((child) => child.name === 'target');
      assert.ok(target);
      const run = await app.engine.execute(target.id);
      const outcome = await run.done;
      assert.equal(outcome.task_id, target.id);
      assert.equal(outcome.status, 'completed');
      const ran = new Set(runs().map((r) => r.task));
      const byName = new Map((await app.tasks.tree(tree.id)).map((row) => [row.name, row]));
      assert.ok(ran.has(byName.get('dep')?.id as string) && ran.has(target.id));
      assert.ok(!ran.has(byName.get('other')?.id as string));
      assert.equal(byName.get('other')?.status, 'pending');
      assert.equal(byName.get('r')?.status, 'pending');
    });

    test("execute names its run's first event: following after it gives that run's events only, never an earlier run's", async (t) => {
      const app = await engineApp(t, await db.create(t));
      const tree = await app.engine.createTree([
        { id: 'fs-root', name: 'root', schemas: { method: 'noop' } },
        { id: 'fs-a', name: 'a', parent_id: 'fs-root', schemas: { method: 'noop' } },
      ]);
      const first = await app.engine.execute(tree.id);
      await first.done;
      const second = await app.engine.execute(tree.id);
      assert.ok(second.first_seq > first.first_seq, `${second.first_seq} after ${first.first_seq}`);
      await second.done;
      const seen: TaskEvent[] = [];
      const following = app.engine.follow(tree.id, second.first_seq - 1, (event) => seen.push(event));
      await following.replayed;
      await eventually(() => seen.some((event) => event.type === 'final'), 10_000);
      following.stop();
      assert.equal(seen[0]?.seq, second.first_seq, "the first event followed is the run's first");
      assert.equal(seen.filter((event) => event.type === 'final').length, 1, "one final: this run's");
      const child = tree.children?.[0]?.id;
      assert.ok(
        seen.some((event) => event.type === 'task_completed' && event.task_id === child),
        "the run's own task events are there",
      );
      assert.ok(seen.every((event) => event.seq >= second.first_seq));
    });
  });
}
