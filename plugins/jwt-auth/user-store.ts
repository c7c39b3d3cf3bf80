import { randomBytes } from 'node:crypto';
import { ApflowError, type PluginApp } from 'apflow';
import { hashPassword, refuseUnknown, verifyPassword } from './passwords.ts';

/** A user who may log in (what is listed: never the hash). */
export interface User {
  username: string;
  roles: string[];
  created_at: string;
}

const NAME = /^[A-Za-z0-9._@-]{1,255}$/;

/** The users of `POST /auth/login` and `apflow users`, in `jwt_auth_users`. */
export function createUserStore(app: PluginApp) {
  const sql = app.storage.sql;
  // Roles as this store wrote them: a JSON list (a string in SQLite, parsed already by PostgreSQL).
  const parse = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value) as string[];
  const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString());
  return {
    /**
     * Adds a user, or replaces the password and roles of an existing one (`replaced`). Either
     * way the user gets a new token version, so tokens minted before are refused.
     */
    async add(username: string, password: string, roles: string[]): Promise<User & { replaced: boolean }> {
      if (!NAME.test(username))
        throw new ApflowError('APF_INVALID_PARAMS', { message: 'a username is 1-255 letters, digits and . _ @ -' });
      if (password.length < 8)
        throw new ApflowError('APF_INVALID_PARAMS', { message: 'a password needs at least 8 characters' });
      const hash = await hashPassword(password);
      const created_at = new Date().toISOString();
      const before = await sql.select('SELECT 1 FROM jwt_auth_users WHERE username = ?', [username]);
      await sql.write(async (tx) => {
        await tx.run('DELETE FROM jwt_auth_users WHERE username = ?', [username]);
        await tx.run(
          `INSERT INTO jwt_auth_users (username, password_hash, roles, created_at, token_version) VALUES (?, ?, ${sql.json}, ${sql.time}, ?)`,
          [username, hash, JSON.stringify(roles), created_at, randomBytes(12).toString('base64url')],
        );
      });
      return { username, roles, created_at, replaced: before.length > 0 };
    },
    async list(): Promise<User[]> {
      const rows = await sql.select('SELECT username, roles, created_at FROM jwt_auth_users ORDER BY username');
      return rows.map((row) => ({
        username: String(row.username),
        roles: parse(row.roles),
        created_at: iso(row.created_at),
      }));
    },
    /** Removes a user (their tokens are refused from then on); false when there was none. */
    async remove(username: string): Promise<boolean> {
      const before = await sql.select('SELECT 1 FROM jwt_auth_users WHERE username = ?', [username]);
      await sql.write((tx) => tx.run('DELETE FROM jwt_auth_users WHERE username = ?', [username]));
      return before.length > 0;
    },
    /**
     * The user whose password this is, with their token version, or null; an unknown username
     * takes as long as a wrong password.
     */
    async check(username: string, password: string): Promise<(User & { token_version: string }) | null> {
      const [row] = await sql.select(
        'SELECT username, password_hash, roles, created_at, token_version FROM jwt_auth_users WHERE username = ?',
        [username],
      );
      const matches = row ? await verifyPassword(password, String(row.password_hash)) : await refuseUnknown(password);
      if (!row || !matches) return null;
      return {
        username: String(row.username),
        roles: parse(row.roles),
        created_at: iso(row.created_at),
        token_version: String(row.token_version),
      };
    },
    /** The token version of a stored user, or null when there is no such user. */
    async tokenVersion(username: string): Promise<string | null> {
      const [row] = await sql.select('SELECT token_version FROM jwt_auth_users WHERE username = ?', [username]);
      return row ? String(row.token_version) : null;
    },
  };
}

/** The users store. */
export type UserStore = ReturnType<typeof createUserStore>;
