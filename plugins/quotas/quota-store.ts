import type { PluginStorage } from 'apflow';

/** Days of tree counts kept (quotas.status answers today's; the rest is for an operator's look). */
const KEEP_DAYS = 7;
/** Exempt marks older than this are dropped (their runs long ended, or wait for a person). */
const KEEP_EXEMPT_MS = 30 * 24 * 3600 * 1000;

/** The row key of a tree owner: prefixed, so no user id can be taken for the shared anonymous budget. */
export const userKey = (userId: string | null) => (userId === null ? '-' : `u:${userId}`);

/**
 * The quotas tables (SQL on SQLite and PostgreSQL alike). Counting is one upsert whose `WHERE`
 * stops at the limit, so two servers starting runs for one user at once never both pass the last one.
 */
export function createQuotaStore(storage: PluginStorage) {
  const { sql } = storage;
  return {
    /**
     * Counts one run of `key` on `day` unless `limit` (when given) is reached (`counted`). `unmark`
     * drops that tree's exempt mark in the same transaction, as a limited caller runs it now
     * (`unmarked`: there was one, to put back if no run begins).
     */
    count(key: string, day: string, limit: number | undefined, unmark?: string) {
      return sql.write(async (tx) => {
        const dropped =
          unmark === undefined
            ? []
            : await tx.select('DELETE FROM quotas_exempt_runs WHERE root_task_id = ? RETURNING root_task_id', [unmark]);
        const unmarked = dropped.length > 0;
        if (limit === 0) return { counted: false, unmarked };
        const below = limit === undefined ? '' : `WHERE quotas_daily.trees < ${sql.typed('integer')}`;
        const rows = await tx.select(
          `INSERT INTO quotas_daily (user_key, day, trees) VALUES (?, ?, 1)
           ON CONFLICT (user_key, day) DO UPDATE SET trees = quotas_daily.trees + 1 ${below}
           RETURNING trees`,
          limit === undefined ? [key, day] : [key, day, limit],
        );
        return { counted: rows.length > 0, unmarked };
      });
    },
    /** Gives back a run counted on `day` that did not begin (the tree was running already). */
    giveBack: (key: string, day: string) =>
      sql.write((tx) =>
        tx.run('UPDATE quotas_daily SET trees = trees - 1 WHERE user_key = ? AND day = ? AND trees > 0', [key, day]),
      ),
    /** Runs of `key` counted on `day`. */
    async trees(key: string, day: string): Promise<number> {
      const [row] = await sql.select<{ trees: unknown }>(
        'SELECT trees FROM quotas_daily WHERE user_key = ? AND day = ?',
        [key, day],
      );
      return row ? Number(row.trees) : 0;
    },
    /** Marks the tree of `rootId` as run by an exempt caller; true when it had no mark before. */
    markExempt: (rootId: string) =>
      sql.write(async (tx) => {
        const had = await tx.select('SELECT 1 AS hit FROM quotas_exempt_runs WHERE root_task_id = ?', [rootId]);
        await tx.run(
          `INSERT INTO quotas_exempt_runs (root_task_id, created_at) VALUES (?, ${sql.time})
           ON CONFLICT (root_task_id) DO UPDATE SET created_at = excluded.created_at`,
          [rootId, new Date().toISOString()],
        );
        return had.length === 0;
      }),
    /** Whether the latest run of the tree of `rootId` was started by an exempt caller. */
    async isExempt(rootId: string): Promise<boolean> {
      const rows = await sql.select('SELECT 1 AS hit FROM quotas_exempt_runs WHERE root_task_id = ?', [rootId]);
      return rows.length > 0;
    },
    /** Forgets the exempt mark of a tree whose run ended. */
    forgetExempt: (rootId: string) =>
      sql.write((tx) => tx.run('DELETE FROM quotas_exempt_runs WHERE root_task_id = ?', [rootId])),
    /** Drops counts of days long past and stale exempt marks. */
    prune: (today: string) =>
      sql.write(async (tx) => {
        const oldest = new Date(Date.parse(`${today}T00:00:00Z`) - KEEP_DAYS * 86_400_000).toISOString();
        await tx.run('DELETE FROM quotas_daily WHERE day < ?', [oldest.slice(0, 10)]);
        await tx.run(`DELETE FROM quotas_exempt_runs WHERE created_at < ${sql.time}`, [
          new Date(Date.now() - KEEP_EXEMPT_MS).toISOString(),
        ]);
      }),
  };
}

/** The quotas tables. */
export type QuotaStore = ReturnType<typeof createQuotaStore>;
