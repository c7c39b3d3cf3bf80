// The indexes of apflow_tasks after the migrations (kernel/storage/migrations/0009-task-indexes.ts),
// and the plans of the queries that lean on them: each still reads an index, on SQLite and on
// PostgreSQL, with the planner left to its statistics and as apflow's write transactions set it.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createApp, type App } from 'apflow';
import { testDatabases } from '../../databases.ts';
import { memoryLog } from '../../helpers.ts';
import { TERMINAL_STATUSES, UNFINISHED_STATUSES } from '../../../kernel/tasks/task-record.ts';

const EXPECTED = [
  'apflow_tasks_original_task_id (original_task_id) WHERE original_task_id IS NOT NULL',
  'apflow_tasks_parent_id_status (parent_id, status)',
  'apflow_tasks_ready (priority, ready_at, position) WHERE ready_at IS NOT NULL',
  'apflow_tasks_root_id_status (root_id, status)',
  'apflow_tasks_run_state (run_state) WHERE run_state IS NOT NULL',
  'apflow_tasks_status (status)',
  'apflow_tasks_user_id_created_at (user_id, created_at) WHERE user_id IS NOT NULL',
];

/** The indexes before 0009-task-indexes, as 0001 and 0003 made them. */
const BEFORE = [
  'CREATE INDEX apflow_tasks_root_id ON apflow_tasks (root_id)',
  'CREATE INDEX apflow_tasks_parent_id ON apflow_tasks (parent_id)',
  'CREATE INDEX apflow_tasks_user_id_created_at ON apflow_tasks (user_id, created_at)',
  'CREATE INDEX apflow_tasks_original_task_id ON apflow_tasks (original_task_id)',
  'CREATE INDEX apflow_tasks_run_state ON apflow_tasks (run_state)',
  'CREATE INDEX apflow_tasks_lease_owner ON apflow_tasks (lease_owner)',
];

const start = async (t: TestContext, url: string): Promise<App> => {
  const app = await createApp({
    env: {},
    logStream: memoryLog().stream,
    inline: { database: { url }, executors: { dirs: [] }, examples: { auto_init: false }, log: { level: 'warn' } },
  });
  t.after(() => app.close());
  return app;
};

/** The indexes of apflow_tasks but its primary key, each as `name (columns) [WHERE predicate]`, sorted. */
async function taskIndexes(app: App): Promise<string[]> {
  const { sql } = app.storage;
  const made =
    app.storage.dialect === 'sqlite'
      ? await sql.select<{ sql: string }>(
          "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'apflow_tasks' AND sql IS NOT NULL",
        )
      : await sql.select<{ sql: string }>(
          "SELECT indexdef AS sql FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'apflow_tasks' AND indexname <> 'apflow_tasks_pkey'",
        );
  return made
    .map((row) => {
      const match = /INDEX (\w+) ON .*?\(([^)]*)\)(?: WHERE \(?(.*?)\)?)?$/.exec(row.sql);
      if (!match) return row.sql;
      const [, name, columns = '', predicate] = match;
      return `${name} (${columns.replaceAll('"', '')})${predicate ? ` WHERE ${predicate}` : ''}`;
    })
    .sort();
}

/**
 * 5000 tasks in 100 trees of 50 (five parents under each root, the rest under those): trees 0-2
 * running (pending, some in progress under a lease, tree 0's ready to claim, tree 1's pinned),
 * trees 3-7 failed at the root, the rest completed; every tenth tree has a user, tree 99 is a copy.
 */
const SEED = `INSERT INTO apflow_tasks (id, parent_id, root_id, user_id, name, status, position, run_state, run_id,
    ready_at, lease_owner, pinned_to, original_task_id, created_at, updated_at)
  WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 4999),
  t(i, k, p) AS (SELECT i, i / 50, i % 50 FROM n)
  SELECT CASE WHEN p = 0 THEN 'r' || k ELSE 'r' || k || '-' || p END,
    CASE WHEN p = 0 THEN NULL WHEN p <= 5 THEN 'r' || k ELSE 'r' || k || '-' || (p % 5 + 1) END,
    'r' || k,
    CASE WHEN k % 10 = 0 THEN 'user-' || k END,
    'task',
    CASE WHEN k < 3 AND p % 10 = 1 THEN 'in_progress' WHEN k < 3 THEN 'pending'
      WHEN k < 8 AND (p = 0 OR p % 7 = 0) THEN 'failed' ELSE 'completed' END,
    p,
    CASE WHEN k < 3 AND p = 0 THEN 'running' END,
    CASE WHEN k < 3 THEN 'run-' || k END,
    CASE WHEN k = 0 AND p % 10 = 2 THEN CURRENT_TIMESTAMP END,
    CASE WHEN k < 3 AND p % 10 = 1 THEN 'engine-a' END,
    CASE WHEN k = 1 THEN 'engine-a' END,
    CASE WHEN k = 99 THEN 'r98-' || p END,
    CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
  FROM t`;

const UNFINISHED = "('pending', 'in_progress', 'input_required')";

/** A query apflow makes (or its shape, with the values of one call), and the indexes it may read. */
interface HotQuery {
  what: string;
  text: (app: App) => string;
  params: unknown[];
  uses: string[];
  /**
   * The index is sought by the status too, not only by its first column: a probe for an unfinished
   * task must not pass every finished one of a big tree first (their entries come first).
   */
  seeksStatus?: boolean;
  /**
   * Or seeks the status, or reads the index backwards from the end of its first column's range
   * (the engine's transactions, with sorts off): the unfinished statuses sort after every finished
   * one (tested below), so their entries come first.
   */
  backwards?: boolean;
}

const HOT: HotQuery[] = [
  {
    what: 'a tree in creation order (selectTree, selectTreesIn, enterRuns of a whole tree)',
    text: () => 'SELECT * FROM apflow_tasks WHERE root_id = ? ORDER BY position',
    params: ['r42'],
    uses: ['apflow_tasks_root_id_status'],
  },
  {
    what: 'a run with a task left (runsWithWork)',
    text: () =>
      `SELECT 1 FROM apflow_tasks t WHERE t.root_id = ? AND t.status IN ${UNFINISHED} AND t.run_id = ? LIMIT 1`,
    params: ['r1', 'run-1'],
    uses: ['apflow_tasks_root_id_status'],
    seeksStatus: true,
  },
  {
    what: "a tree's counts (countTreeStatuses)",
    text: () => 'SELECT status, COUNT(*) AS n FROM apflow_tasks WHERE root_id = ? GROUP BY status',
    params: ['r42'],
    uses: ['apflow_tasks_root_id_status'],
  },
  {
    what: 'children (selectChildren)',
    text: () => 'SELECT * FROM apflow_tasks WHERE parent_id = ? ORDER BY priority, position',
    params: ['r42-3'],
    uses: ['apflow_tasks_parent_id_status'],
  },
  {
    what: 'an unfinished child in the run (pendingCandidates)',
    text: () =>
      `SELECT 1 FROM apflow_tasks c WHERE c.parent_id = ? AND c.status IN ${UNFINISHED} AND c.run_id = ? ORDER BY c.status DESC LIMIT 1`,
    params: ['r2-4', 'run-2'],
    uses: ['apflow_tasks_parent_id_status'],
    backwards: true,
  },
  {
    what: 'roots of a status, newest first (tasks.list)',
    text: () =>
      'SELECT * FROM apflow_tasks WHERE status = ? AND parent_id IS NULL ORDER BY created_at DESC, position LIMIT ? OFFSET ?',
    params: ['failed', 100, 0],
    uses: ['apflow_tasks_parent_id_status', 'apflow_tasks_status'],
  },
  {
    what: "a user's tasks, newest first (tasks.list)",
    text: () => 'SELECT * FROM apflow_tasks WHERE user_id = ? ORDER BY created_at DESC, position LIMIT ? OFFSET ?',
    params: ['user-50', 100, 0],
    uses: ['apflow_tasks_user_id_created_at'],
  },
  {
    what: 'tasks running, per user (runningPerUser; othersLeases)',
    text: () => "SELECT user_id, COUNT(*) AS n FROM apflow_tasks WHERE status = 'in_progress' GROUP BY user_id",
    params: [],
    uses: ['apflow_tasks_status'],
  },
  {
    what: 'engines that pinned waiting tasks (pinOwners)',
    text: () =>
      "SELECT DISTINCT pinned_to FROM apflow_tasks WHERE pinned_to IS NOT NULL AND status IN ('pending', 'input_required')",
    params: [],
    uses: ['apflow_tasks_status'],
  },
  {
    what: 'trees running (findRunningTrees, runsWithoutId)',
    text: () => "SELECT id, lease_owner, lease_expires_at FROM apflow_tasks WHERE run_state = 'running'",
    params: [],
    uses: ['apflow_tasks_run_state'],
  },
  {
    what: 'ready tasks, most urgent first (selectClaimable)',
    text: (app) =>
      app.storage.dialect === 'sqlite'
        ? 'SELECT id, root_id, user_id FROM apflow_tasks INDEXED BY apflow_tasks_ready WHERE ready_at IS NOT NULL AND ready_at <= ? AND (pinned_to IS NULL OR pinned_to = ?) ORDER BY priority, ready_at, position LIMIT ?'
        : 'SELECT id, root_id, user_id FROM apflow_tasks WHERE ready_at IS NOT NULL AND ready_at <= CAST(? AS timestamptz) AND (pinned_to IS NULL OR pinned_to = ?) ORDER BY priority, ready_at, position LIMIT ? FOR UPDATE SKIP LOCKED',
    params: ['2999-01-01T00:00:00.000Z', 'engine-b', 64],
    uses: ['apflow_tasks_ready'],
  },
  {
    what: 'copies of a task (original_task_id)',
    text: () => 'SELECT id FROM apflow_tasks WHERE original_task_id = ?',
    params: ['r98-7'],
    uses: ['apflow_tasks_original_task_id'],
  },
  {
    what: "an engine's own running tasks, by id (heldBy, leasesLost, renewLeases)",
    text: () => "SELECT id FROM apflow_tasks WHERE id IN (?, ?, ?) AND status = 'in_progress' AND lease_owner = ?",
    params: ['r0-1', 'r0-11', 'r1-21', 'engine-a'],
    uses: ['apflow_tasks_pkey', 'sqlite_autoindex_apflow_tasks_1', 'apflow_tasks_status'],
  },
];

/**
 * The plans of `query`: SQLite's; PostgreSQL's with the planner free (a read) and inside a write
 * transaction (apflow's: sequential scans off), after ANALYZE (deterministic statistics).
 */
async function plans(app: App, query: HotQuery): Promise<{ mode: string; plan: string }[]> {
  const { sql } = app.storage;
  const text = query.text(app);
  if (app.storage.dialect === 'sqlite') {
    const rows = await sql.select<{ detail: string }>(`EXPLAIN QUERY PLAN ${text}`, query.params);
    return [{ mode: 'sqlite', plan: rows.map((row) => row.detail).join('\n') }];
  }
  const lines = (rows: Record<string, unknown>[]) => rows.map((row) => String(row['QUERY PLAN'])).join('\n');
  return [
    { mode: 'read', plan: lines(await sql.select(`EXPLAIN ${text}`, query.params)) },
    { mode: 'write', plan: lines(await sql.write((tx) => tx.select(`EXPLAIN ${text}`, query.params))) },
  ];
}

/** Whether `plan` reads the whole table (not through an index). */
const fullScan = (plan: string): boolean =>
  /Seq Scan on apflow_tasks/.test(plan) || /^SCAN (apflow_tasks|[a-z])(?! USING)\b/m.test(plan);

for (const db of testDatabases()) {
  test(`${db.name}: apflow_tasks has the indexes its queries read, partial where every query implies the predicate`, async (t) => {
    const app = await start(t, await db.create(t));
    assert.deepEqual(await taskIndexes(app), EXPECTED);
  });

  test(`${db.name}: on a database with tasks, every hot query on apflow_tasks reads an index`, async (t) => {
    const app = await start(t, await db.create(t));
    await app.storage.sql.write((tx) => tx.run(SEED));
    if (app.storage.dialect === 'postgres') await app.storage.sql.run('ANALYZE apflow_tasks');
    for (const query of HOT)
      for (const { mode, plan } of await plans(app, query)) {
        assert.ok(!fullScan(plan), `${query.what} (${mode}) reads the whole table:\n${plan}`);
        const read = query.uses.filter((index) => new RegExp(`\\b${index}\\b`).test(plan));
        assert.ok(read.length > 0, `${query.what} (${mode}) reads none of ${query.uses.join(', ')}:\n${plan}`);
        if (query.seeksStatus)
          assert.match(plan, /status=\?|Index Cond: .*status/, `${query.what} (${mode}) seeks no status:\n${plan}`);
        if (query.backwards)
          assert.match(
            plan,
            /status=\?|Index Cond: .*status|Index Scan Backward using apflow_tasks_parent_id_status/,
            `${query.what} (${mode}) neither seeks the status nor reads backwards:\n${plan}`,
          );
      }
  });

  test(`${db.name}: every unfinished status sorts after every finished one (a probe reading backwards meets them first)`, async (t) => {
    const app = await start(t, await db.create(t));
    const statuses = [...UNFINISHED_STATUSES, ...TERMINAL_STATUSES];
    // The column's own order (its collation), as the index keeps it.
    await app.storage.sql.write(async (tx) => {
      for (const [i, status] of statuses.entries())
        await tx.run(
          `INSERT INTO apflow_tasks (id, name, status, root_id, created_at, updated_at) VALUES (?, ?, ?, ?, ${app.storage.sql.time}, ${app.storage.sql.time})`,
          [`s${i}`, status, status, `s${i}`, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
        );
    });
    const sorted = (
      await app.storage.sql.select<{ status: string }>('SELECT status FROM apflow_tasks ORDER BY status')
    ).map((row) => row.status);
    const firstUnfinished = sorted.findIndex((status) => (UNFINISHED_STATUSES as readonly string[]).includes(status));
    assert.ok(firstUnfinished > 0, `statuses in order: ${sorted.join(', ')}`);
    assert.deepEqual(
      sorted.slice(firstUnfinished).sort(),
      [...UNFINISHED_STATUSES].sort(),
      `statuses in order: ${sorted.join(', ')}`,
    );
  });

  test(`${db.name}: on a database made before 0009-task-indexes, holding tasks, the migration replaces the indexes`, async (t) => {
    const url = await db.create(t);
    const first = await start(t, url);
    await first.storage.sql.write(async (tx) => {
      await tx.run(SEED);
      for (const index of EXPECTED) await tx.run(`DROP INDEX IF EXISTS ${index.split(' ')[0]}`);
      await tx.run(
        'CREATE INDEX apflow_tasks_ready ON apflow_tasks (priority, ready_at, position) WHERE ready_at IS NOT NULL',
      );
      await tx.run('CREATE INDEX apflow_tasks_parent_id_status ON apflow_tasks (parent_id, status)');
      await tx.run('CREATE INDEX apflow_tasks_root_id_status ON apflow_tasks (root_id, status)');
      await tx.run('CREATE INDEX apflow_tasks_status ON apflow_tasks (status)');
      for (const statement of BEFORE) await tx.run(statement);
      await tx.run("DELETE FROM apflow_migrations WHERE name = '0009-task-indexes'");
    });
    await first.close();
    const app = await start(t, url);
    assert.deepEqual(await taskIndexes(app), EXPECTED);
    const [row] = await app.storage.sql.select<{ n: number | string }>('SELECT COUNT(*) AS n FROM apflow_tasks');
    assert.equal(Number(row?.n), 5000);
  });
}
