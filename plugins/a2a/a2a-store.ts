import type { PluginApp } from 'apflow';

/** One stored A2A Task (`a2a_tasks`); history and status message as v1.0 wire JSON. */
export interface A2aTaskRow {
  id: string;
  context_id: string;
  user_id: string | null;
  root_task_id: string | null;
  /** The v1.0 state name (`TASK_STATE_…`) while no tree decides it. */
  state: string;
  status_message: Record<string, unknown> | null;
  history: Record<string, unknown>[];
  metadata: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
}

/** One stored push config (`a2a_push_configs`). */
export interface PushConfigRow {
  task_id: string;
  id: string;
  url: string;
  sealed_secrets: string | null;
  scheme: string | null;
  protocol_version: string;
  delivered_seq: number;
  created_at: string;
}

const parse = <T>(value: unknown): T => (typeof value === 'string' ? (JSON.parse(value) as T) : (value as T));
const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString());

function taskRow(raw: Record<string, unknown>): A2aTaskRow {
  return {
    id: String(raw.id),
    context_id: String(raw.context_id),
    user_id: (raw.user_id as string | null) ?? null,
    root_task_id: (raw.root_task_id as string | null) ?? null,
    state: String(raw.state),
    status_message: raw.status_message == null ? null : parse(raw.status_message),
    history: parse(raw.history) ?? [],
    metadata: raw.metadata == null ? null : parse(raw.metadata),
    created_at: iso(raw.created_at),
    updated_at: iso(raw.updated_at),
  };
}

function pushRow(raw: Record<string, unknown>): PushConfigRow {
  return {
    task_id: String(raw.task_id),
    id: String(raw.id),
    url: String(raw.url),
    sealed_secrets: (raw.sealed_secrets as string | null) ?? null,
    scheme: (raw.scheme as string | null) ?? null,
    protocol_version: String(raw.protocol_version),
    delivered_seq: Number(raw.delivered_seq ?? 0),
    created_at: iso(raw.created_at),
  };
}

/** What a listing of A2A tasks is about. */
export interface TaskQuery {
  userId?: string;
  contextId?: string;
  limit: number;
  offset: number;
}

/** The a2a plugin's tables, through the kernel's raw SQL helpers. */
export function createA2aStore(app: PluginApp) {
  const sql = app.storage.sql;
  const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
  const where = (query: Omit<TaskQuery, 'limit' | 'offset'>) => {
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (query.userId !== undefined) {
      clauses.push('user_id = ?');
      params.push(query.userId);
    }
    if (query.contextId !== undefined) {
      clauses.push('context_id = ?');
      params.push(query.contextId);
    }
    return { text: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
  };

  return {
    async insertTask(row: A2aTaskRow): Promise<void> {
      await sql.write((tx) =>
        tx.run(
          `INSERT INTO a2a_tasks (id, context_id, user_id, root_task_id, state, status_message, history, metadata, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ${sql.json}, ${sql.json}, ${sql.json}, ${sql.time}, ${sql.time})`,
          [
            row.id,
            row.context_id,
            row.user_id,
            row.root_task_id,
            row.state,
            json(row.status_message),
            json(row.history),
            json(row.metadata),
            row.created_at,
            row.updated_at,
          ],
        ),
      );
    },
    async getTask(id: string): Promise<A2aTaskRow | undefined> {
      const [raw] = await sql.select('SELECT * FROM a2a_tasks WHERE id = ?', [id]);
      return raw ? taskRow(raw) : undefined;
    },
    /** Saves the changing columns of `row` (state, tree, status message, history). */
    async saveTask(row: A2aTaskRow): Promise<void> {
      await sql.write((tx) =>
        tx.run(
          `UPDATE a2a_tasks SET root_task_id = ?, state = ?, status_message = ${sql.json}, history = ${sql.json}, metadata = ${sql.json}, updated_at = ${sql.time} WHERE id = ?`,
          [
            row.root_task_id,
            row.state,
            json(row.status_message),
            json(row.history),
            json(row.metadata),
            row.updated_at,
            row.id,
          ],
        ),
      );
    },
    /** Tasks newest first. */
    async listTasks(query: TaskQuery): Promise<A2aTaskRow[]> {
      const filter = where(query);
      const rows = await sql.select(
        `SELECT * FROM a2a_tasks ${filter.text} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
        [...filter.params, query.limit, query.offset],
      );
      return rows.map(taskRow);
    },
    async countTasks(query: Omit<TaskQuery, 'limit' | 'offset'>): Promise<number> {
      const filter = where(query);
      const [row] = await sql.select<{ n: number | string }>(
        `SELECT COUNT(*) AS n FROM a2a_tasks ${filter.text}`,
        filter.params,
      );
      return Number(row?.n ?? 0);
    },
    /** Adds or replaces a push config. */
    async putPushConfig(row: PushConfigRow): Promise<void> {
      await sql.write(async (tx) => {
        await tx.run('DELETE FROM a2a_push_configs WHERE task_id = ? AND id = ?', [row.task_id, row.id]);
        await tx.run(
          `INSERT INTO a2a_push_configs (task_id, id, url, sealed_secrets, scheme, protocol_version, delivered_seq, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ${sql.time})`,
          [
            row.task_id,
            row.id,
            row.url,
            row.sealed_secrets,
            row.scheme,
            row.protocol_version,
            row.delivered_seq,
            row.created_at,
          ],
        );
      });
    },
    async pushConfigs(taskId: string): Promise<PushConfigRow[]> {
      return (
        await sql.select('SELECT * FROM a2a_push_configs WHERE task_id = ? ORDER BY created_at, id', [taskId])
      ).map(pushRow);
    },
    /** Records that config `id` of task `taskId` got the updates of events up to `seq`. */
    async markDelivered(taskId: string, id: string, seq: number): Promise<void> {
      await sql.write((tx) =>
        tx.run('UPDATE a2a_push_configs SET delivered_seq = ? WHERE task_id = ? AND id = ? AND delivered_seq < ?', [
          seq,
          taskId,
          id,
          seq,
        ]),
      );
    },
    /**
     * Tasks whose tree has events some push config has not got yet (deliveries to resume on
     * start): the configs' cursors from these tables, the trees' last seq from `app.tasks`.
     */
    async pushesBehind(): Promise<A2aTaskRow[]> {
      const rows = await sql.select(
        `SELECT a.*, p.behind_from FROM a2a_tasks a
         JOIN (SELECT task_id, MIN(delivered_seq) AS behind_from FROM a2a_push_configs GROUP BY task_id) p ON p.task_id = a.id
         WHERE a.root_task_id IS NOT NULL`,
      );
      const rootIds = [...new Set(rows.map((raw) => String(raw.root_task_id)))];
      const lastSeq = new Map((await app.tasks.getMany(rootIds)).map((root) => [root.id, root.event_seq]));
      return rows.filter((raw) => Number(raw.behind_from) < (lastSeq.get(String(raw.root_task_id)) ?? 0)).map(taskRow);
    },
    /**
     * Takes (or renews) the right to deliver task `taskId`'s pushes for `owner` until `until`,
     * unless another owner holds it and its lease has not expired. Returns whether it is held.
     */
    async takePushLease(taskId: string, owner: string, until: string, now: string): Promise<boolean> {
      const rows = await sql.write((tx) =>
        tx.select(
          `UPDATE a2a_tasks SET push_owner = ?, push_until = ${sql.time} WHERE id = ? AND (push_owner IS NULL OR push_owner = ? OR push_until < ${sql.time}) RETURNING id`,
          [owner, until, taskId, owner, now],
        ),
      );
      return rows.length === 1;
    },
    /** Gives the push lease of task `taskId` up (its deliveries caught up, or this server stops). */
    async releasePushLease(taskId: string, owner: string): Promise<void> {
      await sql.write((tx) =>
        tx.run('UPDATE a2a_tasks SET push_owner = NULL, push_until = NULL WHERE id = ? AND push_owner = ?', [
          taskId,
          owner,
        ]),
      );
    },
    async deletePushConfig(taskId: string, id: string): Promise<void> {
      await sql.write((tx) => tx.run('DELETE FROM a2a_push_configs WHERE task_id = ? AND id = ?', [taskId, id]));
    },
  };
}

/** The a2a plugin's storage. */
export type A2aStore = ReturnType<typeof createA2aStore>;
