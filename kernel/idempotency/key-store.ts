import type { Sql } from '../storage/sql.ts';

/** What a request's key row holds, as the next request with the key reads it. */
export interface KeyRow {
  method: string;
  fingerprint: string;
  state: 'pending' | 'done' | 'error';
  /**
   * JSON text: the answer (`done`) or the caller's error (`error`); while pending, what the
   * request has started so far (its checkpoint), if it said.
   */
  answer: string | null;
  /** A pending row whose hold ran out (its holder stopped, or lost its connection). */
  lapsed: boolean;
  /** Older than the keys' lifetime: as if absent. */
  expired: boolean;
}

/** Which key of which caller: the row's primary key. */
export interface KeyId {
  scope: string;
  key: string;
}

const TABLE = 'apflow_idempotency_keys';

/**
 * The statements of `apflow_idempotency_keys`. Every write is one statement in its own
 * transaction, guarded by the holder's token where it changes a pending row: an attempt whose
 * hold was taken over changes nothing.
 */
export function createKeyStore(sql: Sql) {
  const t = sql.time;
  const where = 'scope = ? AND idempotency_key = ?';
  // A row no request holds now: settled, or pending with a lapsed hold (its parameter: now).
  const unheld = `(state <> 'pending' OR held_until IS NULL OR held_until < ${t})`;
  const one = async (statement: string, params: unknown[]) =>
    (await sql.write((tx) => tx.select(statement, params))).length === 1;
  return {
    /** Inserts a pending row held by `holder`; false when the key has a row already. */
    insert: (id: KeyId, row: { method: string; fingerprint: string; holder: string; until: string; now: string }) =>
      one(
        `INSERT INTO ${TABLE} (scope, idempotency_key, method, fingerprint, state, holder, held_until, created_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ${t}, ${t}) ON CONFLICT DO NOTHING RETURNING scope`,
        [id.scope, id.key, row.method, row.fingerprint, row.holder, row.until, row.now],
      ),
    /** The key's row, judged at `now` (held until) and against `expiry` (created before). */
    async read(id: KeyId, now: string, expiry: string): Promise<KeyRow | undefined> {
      const rows = await sql.select<Omit<KeyRow, 'lapsed' | 'expired'> & { lapsed: unknown; expired: unknown }>(
        `SELECT method, fingerprint, state, answer,
           CASE WHEN state = 'pending' AND held_until < ${t} THEN 1 ELSE 0 END AS lapsed,
           CASE WHEN created_at < ${t} AND ${unheld} THEN 1 ELSE 0 END AS expired
         FROM ${TABLE} WHERE ${where}`,
        [now, expiry, now, id.scope, id.key],
      );
      const row = rows[0];
      return row && { ...row, lapsed: Number(row.lapsed) === 1, expired: Number(row.expired) === 1 };
    },
    /** Takes a pending row whose hold lapsed for `holder`; false when another attempt took it first. */
    takeOver: (id: KeyId, holder: string, until: string, now: string) =>
      one(
        `UPDATE ${TABLE} SET holder = ?, held_until = ${t}
         WHERE ${where} AND state = 'pending' AND held_until < ${t} RETURNING scope`,
        [holder, until, id.scope, id.key, now],
      ),
    /** Extends `holder`'s hold; false when it was taken over. */
    renew: (id: KeyId, holder: string, until: string) =>
      one(`UPDATE ${TABLE} SET held_until = ${t} WHERE ${where} AND state = 'pending' AND holder = ? RETURNING scope`, [
        until,
        id.scope,
        id.key,
        holder,
      ]),
    /** Stores what `holder`'s attempt answered (`done`) or the caller's error it met (`error`). */
    settle: (id: KeyId, holder: string, state: 'done' | 'error', answer: string) =>
      one(
        `UPDATE ${TABLE} SET state = ?, answer = ?, holder = NULL, held_until = NULL
         WHERE ${where} AND state = 'pending' AND holder = ? RETURNING scope`,
        [state, answer, id.scope, id.key, holder],
      ),
    /** Records what `holder`'s attempt has started (a retry that takes the key over goes on from it). */
    checkpoint: (id: KeyId, holder: string, answer: string) =>
      one(`UPDATE ${TABLE} SET answer = ? WHERE ${where} AND state = 'pending' AND holder = ? RETURNING scope`, [
        answer,
        id.scope,
        id.key,
        holder,
      ]),
    /** Lets go of `holder`'s hold at once, keeping its checkpoint: the next retry takes the key over. */
    lapse: (id: KeyId, holder: string, past: string) =>
      one(
        `UPDATE ${TABLE} SET holder = NULL, held_until = ${t} WHERE ${where} AND state = 'pending' AND holder = ? RETURNING scope`,
        [past, id.scope, id.key, holder],
      ),
    /** Deletes `holder`'s pending row (its attempt failed inside: a retry may do the work). */
    release: (id: KeyId, holder: string) =>
      sql.write((tx) =>
        tx.run(`DELETE FROM ${TABLE} WHERE ${where} AND state = 'pending' AND holder = ?`, [id.scope, id.key, holder]),
      ),
    /** Deletes the key's row if it expired and no request holds it (so the key may be used again). */
    dropExpired: (id: KeyId, expiry: string, now: string) =>
      sql.write((tx) =>
        tx.run(`DELETE FROM ${TABLE} WHERE ${where} AND created_at < ${t} AND ${unheld}`, [
          id.scope,
          id.key,
          expiry,
          now,
        ]),
      ),
    /** Deletes every expired row no request holds. */
    prune: (expiry: string, now: string) =>
      sql.write((tx) => tx.run(`DELETE FROM ${TABLE} WHERE created_at < ${t} AND ${unheld}`, [expiry, now])),
  };
}

/** The statements of the idempotency keys table. */
export type KeyStore = ReturnType<typeof createKeyStore>;
