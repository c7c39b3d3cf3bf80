import { toIso } from '../../tasks/task-record.ts';
import type { Sql, SqlRunner } from '../sql.ts';

/** An engine's heartbeat row in `apflow_servers`. */
export interface ServerBeat {
  id: string;
  started_at: string;
  heartbeat_at: string;
}

/** Records that engine `id` is alive now. */
export async function beat(sql: Sql, runner: SqlRunner, id: string, now: string, startedAt: string): Promise<void> {
  await runner.run(`UPDATE apflow_servers SET heartbeat_at = ${sql.time} WHERE id = ?`, [now, id]);
  const rows = await runner.select<{ id: string }>('SELECT id FROM apflow_servers WHERE id = ?', [id]);
  if (rows.length === 0) {
    await runner.run(`INSERT INTO apflow_servers (id, started_at, heartbeat_at) VALUES (?, ${sql.time}, ${sql.time})`, [
      id,
      startedAt,
      now,
    ]);
  }
}

/** Forgets engine `id` (it stopped), and engines silent since before `staleBefore`. */
export async function forgetServers(
  sql: Sql,
  runner: SqlRunner,
  id: string | null,
  staleBefore: string,
): Promise<void> {
  if (id) await runner.run('DELETE FROM apflow_servers WHERE id = ?', [id]);
  await runner.run(`DELETE FROM apflow_servers WHERE heartbeat_at < ${sql.time}`, [staleBefore]);
}

/** Every engine that has a heartbeat row. */
export async function listServers(sql: Sql): Promise<ServerBeat[]> {
  const rows = await sql.select<ServerBeat>(
    'SELECT id, started_at, heartbeat_at FROM apflow_servers ORDER BY started_at',
  );
  return rows.map((row) => ({
    id: row.id,
    started_at: toIso(row.started_at) as string,
    heartbeat_at: toIso(row.heartbeat_at) as string,
  }));
}
