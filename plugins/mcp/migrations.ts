import { columnTypes, type Migration } from 'apflow';

/**
 * `mcp_sessions`: which process holds each open MCP session (its loopback address on its host),
 * so that a request reaching another worker of the same server is handed to it.
 */
export const migrations: readonly Migration[] = [
  {
    name: '0001-create-sessions',
    sql: (dialect) => [
      `CREATE TABLE mcp_sessions (
        id VARCHAR(64) PRIMARY KEY,
        host VARCHAR(255) NOT NULL,
        owner_url VARCHAR(255) NOT NULL,
        user_id VARCHAR(255),
        seen_at ${columnTypes(dialect).time} NOT NULL
      )`,
      'CREATE INDEX mcp_sessions_owner_url ON mcp_sessions (owner_url)',
    ],
  },
];
