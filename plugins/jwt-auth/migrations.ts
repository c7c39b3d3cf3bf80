import { columnTypes, type Migration } from 'apflow';

/** `jwt_auth_users`: users who may log in with a password (scrypt hashes, never the password), and their token versions. */
export const migrations: readonly Migration[] = [
  {
    name: '0001-create-users',
    sql: (dialect) => {
      const t = columnTypes(dialect);
      return [
        `CREATE TABLE jwt_auth_users (
          username VARCHAR(255) PRIMARY KEY,
          password_hash VARCHAR(255) NOT NULL,
          roles ${t.json} NOT NULL,
          created_at ${t.time} NOT NULL
        )`,
      ];
    },
  },
  {
    // Login tokens carry the version (claim `tv`): a new one on every `users add` revokes the
    // tokens minted before, and a removed user has none. Existing users start at 'v0'.
    name: '0002-token-version',
    sql: () => ["ALTER TABLE jwt_auth_users ADD COLUMN token_version VARCHAR(64) NOT NULL DEFAULT 'v0'"],
  },
];
