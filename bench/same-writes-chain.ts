import Database from 'better-sqlite3';

type Statement = Database.Statement;

/**
 * The floor for a chain on apflow's own storage: a raw better-sqlite3 connection (WAL,
 * `synchronous=FULL`) on a file apflow made (its tables, indexes and rows), writing what each
 * step of apflow's chain writes, one durable transaction a step, statements kept prepared: the
 * ending (guarded by status and lease, like apflow's), the next task's claim, the root's event
 * counter, and that step's two events (one row of the event log, as apflow writes a turn's). What
 * it leaves out is the engine: its read of the root, executors, the run's bookkeeping in memory,
 * leases kept, signals, and JavaScript between statements. `ids` are the chain's tasks, leaf
 * first; the root is the last.
 */
export async function sameWritesChainMs(file: string, ids: readonly string[]): Promise<number> {
  const db = new Database(file);
  // Each statement awaited, as apflow's driver's are (one microtask apart).
  const run = async (statement: Statement | string, params: unknown[] = []): Promise<unknown[]> => {
    const prepared = typeof statement === 'string' ? db.prepare(statement) : statement;
    if (prepared.reader) return prepared.all(params);
    prepared.run(params);
    return [];
  };
  const prepare = async (text: string) => db.prepare(text);
  const owner = 'floor';
  const root = ids[ids.length - 1] as string;
  try {
    await run('PRAGMA journal_mode = WAL');
    await run('PRAGMA synchronous = FULL');
    const later = () => new Date(Date.now() + 30_000).toISOString();
    await run("UPDATE apflow_tasks SET status = 'in_progress', lease_owner = ?, lease_expires_at = ? WHERE id = ?", [
      owner,
      later(),
      ids[0],
    ]);
    const end = await prepare(
      `UPDATE apflow_tasks SET completed_at = ?, error = NULL, lease_expires_at = NULL, lease_owner = NULL,
         progress = 1, result = ?, status = 'completed', updated_at = ?
       WHERE id = ? AND status = 'in_progress' AND lease_owner = ? RETURNING id`,
    );
    const claim = await prepare(
      `UPDATE apflow_tasks SET status = 'in_progress', inputs = '{}', started_at = ?, updated_at = ?,
         attempts = attempts + 1, next_attempt_at = NULL, ready_at = NULL, lease_owner = ?, lease_expires_at = ?
       WHERE id = ? AND status = 'pending' RETURNING id`,
    );
    const counter = await prepare('UPDATE apflow_tasks SET event_seq = ? WHERE id = ?');
    const append = await prepare(
      `INSERT INTO apflow_event_batches (root_task_id, last_seq, first_seq, events, created_at) VALUES (?, ?, ?, ?, ?)`,
    );
    let seq = 0;
    const event = (task: string, type: string, status: string) => {
      seq++;
      return JSON.stringify({
        type,
        task_id: task,
        root_task_id: root,
        status,
        progress: 0,
        timestamp: new Date().toISOString(),
        seq,
      });
    };
    const start = performance.now();
    for (let i = 0; i < ids.length; i++) {
      const task = ids[i] as string;
      const next = ids[i + 1];
      const now = new Date().toISOString();
      await run('BEGIN IMMEDIATE');
      if ((await run(end, [now, '{"ok":true}', now, task, owner])).length !== 1)
        throw new Error(`floor: ${task} not ended`);
      if (next) await run(claim, [now, now, owner, later(), next]);
      const events = `[${event(task, 'task_completed', 'completed')},${event(next ?? task, 'task_start', 'in_progress')}]`;
      await run(counter, [seq, root]);
      await run(append, [root, seq, seq - 1, events, new Date().toISOString()]);
      await run('COMMIT');
    }
    return performance.now() - start;
  } finally {
    db.close();
  }
}
