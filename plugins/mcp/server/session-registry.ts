import { hostname } from 'node:os';
import type { PluginApp } from 'apflow';

/** Where an open session lives: its host, the loopback address of its process, and its user. */
export interface SessionHome {
  host: string;
  ownerUrl: string;
  userId: string | null;
}

const HOST = hostname();

/**
 * The `mcp_sessions` table: each open session's process, for the other workers (and servers on
 * the same host) to hand its requests to. A process refreshes its rows while it runs; rows nobody
 * refreshed for `staleMs` (a process that died) are dropped by whoever sweeps next.
 */
export function createSessionRegistry(app: PluginApp, staleMs: number) {
  const sql = app.storage.sql;
  const now = () => new Date().toISOString();
  return {
    /** This host's name, as rows record it. */
    host: HOST,
    async add(id: string, ownerUrl: string, userId: string | null): Promise<void> {
      await sql.write((tx) =>
        tx.run(`INSERT INTO mcp_sessions (id, host, owner_url, user_id, seen_at) VALUES (?, ?, ?, ?, ${sql.time})`, [
          id,
          HOST,
          ownerUrl,
          userId,
          now(),
        ]),
      );
    },
    async find(id: string): Promise<SessionHome | undefined> {
      const [row] = await sql.select<{ host: string; owner_url: string; user_id: string | null }>(
        'SELECT host, owner_url, user_id FROM mcp_sessions WHERE id = ?',
        [id],
      );
      return row ? { host: row.host, ownerUrl: row.owner_url, userId: row.user_id ?? null } : undefined;
    },
    async remove(id: string): Promise<void> {
      await sql.write((tx) => tx.run('DELETE FROM mcp_sessions WHERE id = ?', [id]));
    },
    /** Marks this process's sessions alive, and drops the rows of processes that stopped refreshing. */
    async refresh(ownerUrl: string): Promise<void> {
      const time = now();
      const stale = new Date(Date.now() - staleMs).toISOString();
      await sql.write(async (tx) => {
        await tx.run(`UPDATE mcp_sessions SET seen_at = ${sql.time} WHERE host = ? AND owner_url = ?`, [
          time,
          HOST,
          ownerUrl,
        ]);
        await tx.run(`DELETE FROM mcp_sessions WHERE seen_at < ${sql.time}`, [stale]);
      });
    },
    /** Drops every row of this process (it is closing). */
    async removeOwned(ownerUrl: string): Promise<void> {
      await sql.write((tx) => tx.run('DELETE FROM mcp_sessions WHERE host = ? AND owner_url = ?', [HOST, ownerUrl]));
    },
  };
}

/** The open sessions of every process, as the database knows them. */
export type SessionRegistry = ReturnType<typeof createSessionRegistry>;
