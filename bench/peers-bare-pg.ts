// The machine's reference for the PostgreSQL tree (issue 27): apflow's own durable writes for a
// tree, the statements its turns send, in the same order, on the same schema (migrated by apflow),
// at the same durability, from a plain node-postgres client with no engine around them. Each turn:
// BEGIN with the claim's planner settings, lock the root, end the tasks of the turn before, probe
// whether the parent still waits, read the next 64 ready tasks (SKIP LOCKED), claim them, insert
// two events per ended task with the root's counter, COMMIT. What it leaves out: everything apflow
// does in JavaScript (the executors, events' contents, hooks, streams) and the run's own rows
// (its state, the parent's end). A ratio to it says how much of the time is the database's.
import { Writable } from 'node:stream';
import { createApp } from 'apflow';
import pg from 'pg';
import { CONCURRENCY, postgresDurability, type Peer, type PeerSession } from './peers-common.ts';
import { createPostgresDatabase, postgresProblem } from './scale-out-servers.ts';

const UNFINISHED = "('pending', 'in_progress', 'input_required')";
const BEGIN =
  'BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off; SET LOCAL jit = off';
const statements = {
  insert: `INSERT INTO apflow_tasks (id, parent_id, name, status, priority, inputs, schemas, progress, created_at, updated_at,
      has_children, has_copy, root_id, position, attempts, event_seq, ready_at, run_id)
    SELECT v.id, v.parent, v.id, 'pending', 1, '{}', '{"method":"bench_noop"}', 0, now(), now(), false, false, v.parent,
      v.position, 0, 0, now(), 'run' FROM unnest(CAST($1 AS text[]), CAST($2 AS text[]), CAST($3 AS integer[])) AS v(id, parent, position)`,
  lock: 'SELECT id, event_seq, active_run, run_state, status, shape_rev FROM apflow_tasks WHERE id = ANY(CAST($1 AS text[])) FOR UPDATE',
  end: `UPDATE apflow_tasks SET status = 'completed', completed_at = CAST($2 AS timestamptz), updated_at = CAST($2 AS timestamptz),
      result = '{"ok":true}', progress = 1, lease_owner = NULL, lease_expires_at = NULL WHERE id = ANY(CAST($1 AS text[]))`,
  probe: `SELECT p.id, EXISTS (SELECT 1 FROM apflow_tasks c WHERE c.parent_id = p.id AND c.status IN ${UNFINISHED} AND c.run_id = 'run') AS waits
    FROM apflow_tasks p WHERE p.id = ANY(CAST($1 AS text[]))`,
  ready: `SELECT id, root_id, user_id FROM apflow_tasks WHERE ready_at IS NOT NULL AND ready_at <= CAST($1 AS timestamptz)
      AND pinned_to IS NULL ORDER BY priority, ready_at, position LIMIT ${CONCURRENCY} FOR UPDATE SKIP LOCKED`,
  claim: `UPDATE apflow_tasks SET status = 'in_progress', started_at = CAST($2 AS timestamptz), updated_at = CAST($2 AS timestamptz),
      attempts = attempts + 1, ready_at = NULL, lease_owner = 'bare', lease_expires_at = CAST($2 AS timestamptz)
    WHERE id = ANY(CAST($1 AS text[])) AND status IN ('pending', 'input_required') RETURNING *`,
  events: `WITH counter AS (UPDATE apflow_tasks SET event_seq = CAST($5 AS integer) WHERE id = $6)
    INSERT INTO apflow_task_events (root_task_id, seq, task_id, type, event, created_at)
    SELECT $6, v.seq, v.id, v.type, CAST(v.event AS jsonb), now()
    FROM unnest(CAST($1 AS integer[]), CAST($2 AS text[]), CAST($3 AS text[]), CAST($4 AS text[])) AS v(seq, id, type, event)`,
};

/** The bare reference: only a tree (the other workloads have peers of their own). */
export const barePgPeer: Peer = {
  key: 'bare_pg',
  label: "bare: apflow's statements, no engine",
  problem: () => postgresProblem(),
  async setUp(): Promise<PeerSession> {
    const db = await createPostgresDatabase();
    const client = new pg.Client({ connectionString: db.url });
    try {
      const logStream = new Writable({ write: (_chunk, _encoding, done) => done() });
      const inline = { database: { url: db.url }, log: { level: 'warn' as const }, examples: { auto_init: false } };
      const app = await createApp({ env: {}, logStream, inline });
      await app.close();
      await client.connect();
      await client.query('SET synchronous_commit = on');
    } catch (error) {
      await client.end().catch(() => undefined);
      await db.drop();
      throw error;
    }
    let trees = 0;
    return {
      tree: (children) => tree(client, children, `b${trees++}-`),
      durability: () => postgresDurability(client),
      async close() {
        await client.end();
        await db.drop();
      },
    };
  },
};

async function tree(client: pg.Client, children: number, prefix: string): Promise<number> {
  const run = (name: keyof typeof statements, values: unknown[]) =>
    client.query({ name, text: statements[name], values });
  const root = `${prefix}root`;
  const ids = Array.from({ length: children }, (_, i) => `${prefix}t${i + 1}`);
  const start = performance.now();
  await client.query('BEGIN');
  await client.query(
    `INSERT INTO apflow_tasks (id, name, status, priority, inputs, schemas, progress, created_at, updated_at, has_children,
       has_copy, root_id, position, attempts, event_seq, run_state, active_run, run_id)
     VALUES ($1, 'root', 'in_progress', 1, '{}', '{"method":"bench_noop"}', 0, now(), now(), true, false, $1, 0, 0, 0, 'running', 'run', 'run')`,
    [root],
  );
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    await run('insert', [chunk, chunk.map(() => root), chunk.map((_, k) => i + k + 1)]);
  }
  await client.query('COMMIT');
  let running: string[] = [];
  let seq = 0;
  for (;;) {
    const now = new Date().toISOString();
    await client.query(BEGIN);
    await run('lock', [[root]]);
    if (running.length) {
      await run('end', [running, now]);
      await run('probe', [[root]]);
    }
    const ready = (await run('ready', [now])).rows.map((row) => row.id as string);
    const claimed = ready.length ? (await run('claim', [ready, now])).rows.map((row) => row.id as string) : [];
    const told = [...running, ...claimed];
    if (told.length) {
      const seqs = told.map(() => ++seq);
      const types = told.map((_, i) => (i < running.length ? 'task_completed' : 'task_start'));
      const events = told.map((id, i) =>
        JSON.stringify({ type: types[i], task_id: id, root_task_id: root, timestamp: now, seq: seqs[i] }),
      );
      await run('events', [seqs, told, types, events, seq, root]);
    }
    await client.query('COMMIT');
    running = claimed;
    if (running.length === 0) return performance.now() - start;
  }
}
