import type { PluginStorage } from 'apflow';
import { insertFireValues } from './fire-store.ts';
import type { FireRow } from './schedule-row.ts';
import type { ClaimChange } from './schedule-store.ts';

type Sql = PluginStorage['sql'];
type Runner = Parameters<Parameters<Sql['write']>[0]>[0];

/** Rows per statement: far under both databases' parameter limits. */
const CHUNK = 200;

const chunks = <T>(items: readonly T[]) =>
  Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, i) => items.slice(i * CHUNK, (i + 1) * CHUNK));

/**
 * Applies claims inside the transaction `tx`: each to the version of its schedule it read, and
 * answers the ids that applied. SQLite has one writer, so one statement a chunk of schedules does
 * (UPDATE … FROM a VALUES list). On PostgreSQL, servers claim side by side: one UPDATE per
 * schedule, in the order every server uses (soonest first), so their row locks never deadlock.
 */
export async function applyClaims(sql: Sql, tx: Runner, changes: readonly ClaimChange[], now: string) {
  const applied = new Set<string>();
  if (sql.dialect === 'postgres') {
    for (const change of changes) {
      const rows = await tx.select(
        `UPDATE schedules SET next_fire_at = ${sql.time}, runs = runs + ?, missed = missed + ?,
           last_fire_at = COALESCE(${sql.time}, last_fire_at), version = version + 1, updated_at = ${sql.time}
         WHERE id = ? AND version = ? RETURNING id`,
        [change.next_fire_at, change.runs, change.missed, change.last_fire_at, now, change.id, change.version],
      );
      if (rows.length) applied.add(change.id);
    }
    return applied;
  }
  for (const chunk of chunks(changes)) {
    const rows = await tx.select<{ id: string }>(
      `WITH v(sid, sversion, snext, sruns, smissed, slast) AS (VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')})
       UPDATE schedules SET next_fire_at = v.snext, runs = runs + v.sruns, missed = missed + v.smissed,
         last_fire_at = COALESCE(v.slast, last_fire_at), version = version + 1, updated_at = ?
       FROM v WHERE schedules.id = v.sid AND schedules.version = v.sversion RETURNING schedules.id AS id`,
      [...chunk.flatMap((c) => [c.id, c.version, c.next_fire_at, c.runs, c.missed, c.last_fire_at]), now],
    );
    for (const row of rows) applied.add(String(row.id));
  }
  return applied;
}

/** Records `fires` inside `tx`, a chunk a statement; answers those recorded (a fire already recorded is not). */
export async function recordFires(sql: Sql, tx: Runner, fires: readonly FireRow[]): Promise<FireRow[]> {
  const recorded: FireRow[] = [];
  for (const chunk of chunks(fires)) {
    const values = chunk.map((fire) => insertFireValues(sql, fire));
    const rows = await tx.select<{ schedule_id: string; fire_key: string }>(
      `INSERT INTO schedules_fires (schedule_id, fire_key, fire_at, kind, state, root_task_id, inputs, owner, claimed_until, fired_at, error)
       VALUES ${values.map(([row]) => row).join(', ')} ON CONFLICT DO NOTHING RETURNING schedule_id, fire_key`,
      values.flatMap(([, params]) => params),
    );
    const keys = new Set(rows.map((row) => `${String(row.schedule_id)}\n${String(row.fire_key)}`));
    recorded.push(...chunk.filter((fire) => keys.has(`${fire.schedule_id}\n${fire.fire_key}`)));
  }
  return recorded;
}
