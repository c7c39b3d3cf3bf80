import { columnTypes, type Migration } from 'apflow';

/**
 * `llm_keys_header_runs`: the trees started with an `X-LLM-API-KEY` header, without the key, so
 * that after a restart their tasks fail with "key no longer available" instead of running with
 * some other key.
 */
export const migrations: readonly Migration[] = [
  {
    name: '0001-create-header-runs',
    sql: (dialect) => [
      `CREATE TABLE llm_keys_header_runs (
        root_task_id VARCHAR(255) PRIMARY KEY,
        created_at ${columnTypes(dialect).time} NOT NULL
      )`,
    ],
  },
];
