import { columnTypes } from './column-types.ts';
import type { SqlMigration } from './index.ts';

/**
 * The event log as batches: `apflow_event_batches` keeps the events a transaction wrote for one
 * tree as one row (a JSON array, in `seq` order, `first_seq` … `last_seq`), where
 * `apflow_task_events` kept a row per event. A turn of a big tree writes ~128 events of one tree:
 * one row and two index entries instead of 128 rows and 256 entries (on PostgreSQL a quarter of
 * a task's index entries; bench/README.md, session 26). Events are read by
 * tree after a `seq` (streams resuming from `Last-Event-ID`), pruned by age and deleted with
 * their tree, never picked by task or type, so nothing reads inside a batch but the server.
 * Keyed by `last_seq`: the batch holding the event after `seq` is the first whose `last_seq` is
 * greater, one index seek. `events` is text on both databases: the server writes and parses it.
 * The events logged before are copied, one batch each. A server of an older apflow on the same
 * database writes to the table dropped here: servers are upgraded together (docs/scaling-out.md).
 */
export const eventBatches: SqlMigration = {
  name: '0010-event-batches',
  sql(dialect) {
    const t = columnTypes(dialect);
    const eventText = dialect === 'postgres' ? 'event::text' : 'json(event)';
    return [
      `CREATE TABLE apflow_event_batches (
        root_task_id VARCHAR(255) NOT NULL,
        last_seq INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        events TEXT NOT NULL,
        created_at ${t.time} NOT NULL,
        PRIMARY KEY (root_task_id, last_seq)
      )`,
      'CREATE INDEX apflow_event_batches_created_at ON apflow_event_batches (created_at)',
      `INSERT INTO apflow_event_batches (root_task_id, last_seq, first_seq, events, created_at)
        SELECT root_task_id, seq, seq, '[' || ${eventText} || ']', created_at FROM apflow_task_events`,
      'DROP TABLE apflow_task_events',
    ];
  },
};
