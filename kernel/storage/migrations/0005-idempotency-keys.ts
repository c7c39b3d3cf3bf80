import { columnTypes } from './column-types.ts';
import type { SqlMigration } from './index.ts';

/**
 * `apflow_idempotency_keys`: one row per idempotency key of a caller (`scope`: their user, or
 * anonymous), made by the first request that names it. The row is what several servers agree
 * on: its insert decides which request does the work; the others read the answer it stores
 * (`answer`: the wire answer or the caller's error, never the request's params; `fingerprint`:
 * a hash of the method and params, to tell a retry from a different request). A `pending` row is
 * held by one attempt (`holder`) until `held_until`, renewed while it works; a lapsed hold may be
 * taken over. Rows are ignored and pruned after 24 hours.
 */
export const idempotencyKeys: SqlMigration = {
  name: '0005-idempotency-keys',
  sql(dialect) {
    const t = columnTypes(dialect);
    return [
      `CREATE TABLE apflow_idempotency_keys (
        scope TEXT NOT NULL,
        idempotency_key VARCHAR(255) NOT NULL,
        method VARCHAR(255) NOT NULL,
        fingerprint VARCHAR(64) NOT NULL,
        state VARCHAR(16) NOT NULL,
        answer TEXT,
        holder VARCHAR(64),
        held_until ${t.time},
        created_at ${t.time} NOT NULL,
        PRIMARY KEY (scope, idempotency_key)
      )`,
      'CREATE INDEX apflow_idempotency_keys_created_at ON apflow_idempotency_keys (created_at)',
    ];
  },
};
