// The executor of the scale-out tests (test/kernel/scale-out-*.test.ts): a user executor that
// records every run it makes in a table of its own, so the test can see which server ran what,
// when, and whether anything ran twice — also for runs cut short by kill -9 (no ended_at).
import pg from 'pg';
import { defineExecutor, Type } from 'apflow';

/** Where the runs are recorded (the apflow database itself) and who this server is. */
const databaseUrl = process.env.SCALE_RUNS_DATABASE_URL;
const server = process.env.SCALE_SERVER ?? String(process.pid);

const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
// An idle client dropped by the database must not crash the server.
pool.on('error', () => undefined);

let ready: Promise<void> | undefined;

/** Creates the runs table once per process; servers starting together take turns (advisory lock). */
function table(): Promise<void> {
  ready ??= (async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(915015)');
      await client.query(`CREATE TABLE IF NOT EXISTS scale_runs (
        id bigserial PRIMARY KEY,
        task_id text NOT NULL,
        root_task_id text NOT NULL,
        user_id text,
        server text NOT NULL,
        pid integer NOT NULL,
        started_at timestamptz NOT NULL,
        ended_at timestamptz
      )`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      ready = undefined;
      throw error;
    } finally {
      client.release();
    }
  })();
  return ready;
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

export default defineExecutor({
  id: 'record_run',
  description: 'records its run in scale_runs (database clock), then waits inputs.ms plus up to inputs.jitter ms',
  inputSchema: Type.Object(
    { ms: Type.Optional(Type.Number()), jitter: Type.Optional(Type.Number()) },
    { additionalProperties: true },
  ),
  async execute(inputs, ctx) {
    await table();
    const started = await pool.query<{ id: string }>(
      'INSERT INTO scale_runs (task_id, root_task_id, user_id, server, pid, started_at) VALUES ($1, $2, $3, $4, $5, clock_timestamp()) RETURNING id',
      [ctx.task_id, ctx.root_task_id, ctx.user_id, server, process.pid],
    );
    const runId = started.rows[0]?.id;
    try {
      await sleep((inputs.ms ?? 0) + Math.random() * (inputs.jitter ?? 20), ctx.signal);
    } finally {
      // Cancelled or timed out runs end too; only a killed process leaves ended_at empty.
      await pool.query('UPDATE scale_runs SET ended_at = clock_timestamp() WHERE id = $1', [runId]);
    }
    return { server, task: ctx.task_id };
  },
});
