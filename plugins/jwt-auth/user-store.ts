import { ApflowError, type PluginApp } from 'apflow';
import { decoyHash, hashPassword, verifyPassword } from './passwords.ts';

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
  const parse = (value: unknown) => (typeof value === 'string' ? (JSON.parse(value) as string[]) : (value as string[]));
  const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString());
  return {
    /** Adds a user, or replaces the password and roles of an existing one. */
    async add(username: string, password: string, roles: string[]): Promise<User> {
      if (!NAME.test(username)) throw new ApflowError('APF_INVALID_PARAMS', { message: 'a username is 1-255 letters, digits and . _ @ -' });
      if (password.length < 8) throw new ApflowError('APF_INVALID_PARAMS', { message: 'a password needs at least 8 characters' });
      const hash = await hashPassword(password);
      const created_at = new Date().toISOString();
      await sql.write(async (tx) => {
        await tx.run('DELETE FROM jwt_auth_users WHERE username = ?', [username]);
        await tx.run(`INSERT INTO jwt_auth_users (username, password_hash, roles, created_at) VALUES (?, ?, ${sql.json}, ${sql.time})`, [username, hash, JSON.stringify(roles), created_at]);
      });
      return { username, roles, created_at };
    },
    async list(): Promise<User[]> {
      const rows = await sql.select('SELECT username, roles, created_at FROM jwt_auth_users ORDER BY username');
      return rows.map((row) => ({ username: String(row.username), roles: parse(row.roles), created_at: iso(row.created_at) }));
    },
    /** Removes a user; false when there was none. */
    async remove(username: string): Promise<boolean> {
      const before = await sql.select('SELECT 1 FROM jwt_auth_users WHERE username = ?', [username]);
      await sql.write((tx) => tx.run('DELETE FROM jwt_auth_users WHERE username = ?', [username]));
      return before.length > 0;
    },
    /** The user whose password this is, or null; an unknown username takes as long as a wrong password. */
    async check(username: string, password: string): Promise<User | null> {
      const [row] = await sql.select('SELECT username, password_hash, roles, created_at FROM jwt_auth_users WHERE username = ?', [username]);
      const matches = await verifyPassword(password, row ? String(row.password_hash) : await decoyHash);
      return row && matches ? { username: String(row.username), roles: parse(row.roles), created_at: iso(row.created_at) } : null;
    },
  };
}

/** The users store. */
export type UserStore = ReturnType<typeof createUserStore>;
