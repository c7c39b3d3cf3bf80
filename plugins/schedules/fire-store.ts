import { groupCalls, type PluginStorage } from 'apflow';
import { toFireRow, type FireRow } from './schedule-row.ts';

type Sql = PluginStorage['sql'];

/** How one fire ended up, to record. */
interface Settled {
  fire: FireRow;
  state: 'started' | 'skipped' | 'failed';
  rootId: string | null;
  error: string | null;
}

/** One fire as a row of an INSERT's VALUES: its placeholders and their params. */
export function insertFireValues(sql: Sql, fire: FireRow): [string, unknown[]] {
  return [
    `(?, ?, ${sql.time}, ?, ?, ?, ${sql.json}, ?, ${sql.time}, ${sql.time}, ?)`,
    [
      fire.schedule_id,
      fire.fire_key,
      fire.fire_at,
      fire.kind,
      fire.state,
      fire.root_task_id,
      fire.inputs === null ? null : JSON.stringify(fire.inputs),
      fire.owner,
      fire.claimed_until,
      fire.fired_at,
      fire.error,
    ],
  ];
}

/** The statement that records `fire` unless its (schedule, fire key) is recorded already. */
export function insertFireStatement(sql: Sql, fire: FireRow): [string, unknown[]] {
  const [row, params] = insertFireValues(sql, fire);
  return [
    `INSERT INTO schedules_fires (schedule_id, fire_key, fire_at, kind, state, root_task_id, inputs, owner, claimed_until, fired_at, error)
     VALUES ${row} ON CONFLICT DO NOTHING RETURNING fire_key`,
    params,
  ];
}

/**
 * The fires table (`schedules_fires`): fires made now, claims taken over and renewed, outcomes,
 * recent runs, pruning.
 */
export function createFireStore(sql: Sql) {
  const insertFire = (fire: FireRow) => insertFireStatement(sql, fire);
  const settleGrouped = groupCalls<Settled, void>((settled) =>
    sql.write(async (tx) => {
      for (const { fire, state, rootId, error } of settled) {
        await tx.run(
          `UPDATE schedules_fires SET state = ?, root_task_id = ?, error = ?, claimed_until = NULL WHERE schedule_id = ? AND fire_key = ?`,
          [state, rootId, error, fire.schedule_id, fire.fire_key],
        );
        if (state === 'started')
          await tx.run('UPDATE schedules SET last_root_task_id = ? WHERE id = ?', [rootId, fire.schedule_id]);
        if (state === 'skipped')
          await tx.run('UPDATE schedules SET skipped = skipped + 1 WHERE id = ?', [fire.schedule_id]);
      }
      return settled.map(() => undefined);
    }),
  );
  return {
    /**
     * Records one fire made now (manual or webhook: not counted in `runs`, which counts timed
     * fires for `max_runs`); false when its key was used already (a replay).
     */
    async addFire(fire: FireRow): Promise<boolean> {
      return sql.write(async (tx) => (await tx.select(...insertFire(fire))).length === 1);
    },
    /** Fires claimed by a server whose claim ran out before it started them. */
    async stale(now: string, limit: number): Promise<FireRow[]> {
      const rows = await sql.select(
        `SELECT * FROM schedules_fires WHERE state = 'claimed' AND claimed_until < ${sql.time} ORDER BY fire_at LIMIT ?`,
        [now, limit],
      );
      return rows.map(toFireRow);
    },
    /** Takes over a stale fire for `owner` until `until`; false when another server took it first. */
    async takeOver(fire: FireRow, owner: string, until: string, now: string): Promise<boolean> {
      const rows = await sql.write((tx) =>
        tx.select(
          `UPDATE schedules_fires SET owner = ?, claimed_until = ${sql.time}
           WHERE schedule_id = ? AND fire_key = ? AND state = 'claimed' AND claimed_until < ${sql.time} RETURNING fire_key`,
          [owner, until, fire.schedule_id, fire.fire_key, now],
        ),
      );
      return rows.length === 1;
    },
    /**
     * Renews `owner`'s claim on a fire it is about to create the tree of; false when another
     * server took it over meanwhile (this one was too slow), and must then leave it.
     */
    async hold(fire: FireRow, owner: string, until: string): Promise<boolean> {
      const rows = await sql.write((tx) =>
        tx.select(
          `UPDATE schedules_fires SET claimed_until = ${sql.time}
           WHERE schedule_id = ? AND fire_key = ? AND state = 'claimed' AND owner = ? RETURNING fire_key`,
          [until, fire.schedule_id, fire.fire_key, owner],
        ),
      );
      return rows.length === 1;
    },
    /**
     * Records how a fire ended up (started, skipped, failed) and, when started, the schedule's
     * last run. Settles made at the same moment share one transaction (one commit for many fires).
     */
    settle: (fire: FireRow, state: 'started' | 'skipped' | 'failed', rootId: string | null, error: string | null) =>
      settleGrouped({ fire, state, rootId, error }),
    /** Deletes up to `limit` ended fires recorded before `before`; answers how many. */
    async prune(before: string, limit: number): Promise<number> {
      return sql.write(async (tx) => {
        const old = await tx.select<{ schedule_id: string; fire_key: string }>(
          `SELECT schedule_id, fire_key FROM schedules_fires WHERE fired_at < ${sql.time} AND state <> 'claimed' LIMIT ?`,
          [before, limit],
        );
        for (const row of old)
          await tx.run('DELETE FROM schedules_fires WHERE schedule_id = ? AND fire_key = ?', [
            row.schedule_id,
            row.fire_key,
          ]);
        return old.length;
      });
    },
    /** The latest fires of a schedule, newest first. */
    async fires(scheduleId: string, limit: number): Promise<FireRow[]> {
      const rows = await sql.select(
        'SELECT * FROM schedules_fires WHERE schedule_id = ? ORDER BY fired_at DESC, fire_at DESC LIMIT ?',
        [scheduleId, limit],
      );
      return rows.map(toFireRow);
    },
  };
}
