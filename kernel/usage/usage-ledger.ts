import { randomUUID } from 'node:crypto';
import type { Sql } from '../storage/sql.ts';
import type { ModelUsage, TokenUsage, UsageDay, UsageRecord } from './usage-types.ts';

const TABLE = 'apflow_usage';

/** Which days `byDay` sums: one user's (or everyone's), from `since` to `until` (`YYYY-MM-DD`, both included). */
export interface UsageQuery {
  user_id?: string | null;
  since?: string;
  until?: string;
}

/** A summed group of the ledger: its key, one model, the sums (numbers may come as strings). */
interface SumRow {
  key: string | null;
  day?: string;
  provider: string;
  model: string;
  input: unknown;
  output: unknown;
  calls: unknown;
  cost: unknown;
  priced: unknown;
}

const SUMS = `provider, model, SUM(input_tokens) AS input, SUM(output_tokens) AS output, COUNT(*) AS calls,
  SUM(cost_usd) AS cost, COUNT(cost_usd) AS priced`;

/**
 * The usage ledger (`apflow_usage`): one row per LLM call, kept when its task is deleted (the
 * money was spent), summed per task, per tree and per user and day. Every server writes to and
 * reads the same table, so quotas count across servers.
 */
export function createUsageLedger(sql: Sql) {
  const sums = async (column: 'task_id' | 'root_id', ids: readonly string[]): Promise<Map<string, TokenUsage>> => {
    if (ids.length === 0) return new Map();
    const rows = await sql.select<SumRow>(
      `SELECT ${column} AS key, ${SUMS} FROM ${TABLE} WHERE ${column} IN (${ids.map(() => '?').join(', ')})
       GROUP BY ${column}, provider, model`,
      [...ids],
    );
    return groupSums(rows, (row) => row.key ?? '');
  };
  const byTaskOfTree = async (rootId: string): Promise<Map<string, TokenUsage>> =>
    groupSums(
      await sql.select<SumRow>(
        `SELECT task_id AS key, ${SUMS} FROM ${TABLE} WHERE root_id = ? GROUP BY task_id, provider, model`,
        [rootId],
      ),
      (row) => row.key ?? '',
    );
  return {
    /** Stores calls, in one transaction. */
    async record(records: readonly UsageRecord[]): Promise<void> {
      if (records.length === 0) return;
      await sql.write(async (tx) => {
        for (const one of records)
          await tx.run(
            `INSERT INTO ${TABLE} (id, task_id, root_id, user_id, provider, model, input_tokens, output_tokens, cost_usd, day, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ${sql.typed('double precision')}, ?, ${sql.time})`,
            [
              randomUUID(),
              one.task_id,
              one.root_task_id,
              one.user_id,
              one.provider,
              one.model,
              one.input_tokens,
              one.output_tokens,
              one.cost_usd,
              one.at.slice(0, 10),
              one.at,
            ],
          );
        // Reads look the ledger up only for tasks (and trees, by their root) flagged here.
        const ids = [...new Set(records.flatMap((one) => [one.task_id, one.root_task_id]))];
        await tx.run(
          `UPDATE apflow_tasks SET has_usage = ${sql.typed('boolean')} WHERE id IN (${ids.map(() => '?').join(', ')}) AND has_usage = ${sql.typed('boolean')}`,
          [true, ...ids, false],
        );
      });
    },
    /** The usage of each of these tasks that has some (its own calls). */
    ofTasks: (ids: readonly string[]) => sums('task_id', ids),
    /** The usage of each of these trees (by root id) that has some: every task's calls. */
    ofTrees: (rootIds: readonly string[]) => sums('root_id', rootIds),
    /** The usage of each task of the tree of `rootId` that has some (one query for a whole tree). */
    ofTreeTasks: byTaskOfTree,
    /** Usage per user and day (UTC), oldest day first. */
    async byDay(query: UsageQuery = {}): Promise<UsageDay[]> {
      const where: string[] = [];
      const params: unknown[] = [];
      if (query.user_id !== undefined) {
        where.push(query.user_id === null ? 'user_id IS NULL' : 'user_id = ?');
        if (query.user_id !== null) params.push(query.user_id);
      }
      for (const [bound, value] of [
        ['day >= ?', query.since],
        ['day <= ?', query.until],
      ] as const) {
        if (value === undefined) continue;
        where.push(bound);
        params.push(value);
      }
      const rows = await sql.select<SumRow>(
        `SELECT user_id AS key, day, ${SUMS} FROM ${TABLE} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         GROUP BY user_id, day, provider, model ORDER BY day, user_id`,
        params,
      );
      const days = groupSums(rows, (row) => JSON.stringify([row.day, row.key]));
      return [...days].map(([key, usage]) => {
        const [day, user] = JSON.parse(key) as [string, string | null];
        return { user_id: user, day, ...usage };
      });
    },
  };
}

/** The usage ledger of a database. */
export type UsageLedger = ReturnType<typeof createUsageLedger>;

/** Adds up summed rows into one {@link TokenUsage} per key, in the rows' order. */
function groupSums(rows: readonly SumRow[], keyOf: (row: SumRow) => string): Map<string, TokenUsage> {
  const out = new Map<string, TokenUsage>();
  for (const row of rows) {
    const key = keyOf(row);
    let usage = out.get(key);
    if (!usage) out.set(key, (usage = noUsage()));
    const input = Number(row.input);
    const output = Number(row.output);
    const cost = Number(row.priced) > 0 ? roundUsd(Number(row.cost)) : null;
    addModel(usage, `${row.provider}/${row.model}`, {
      input,
      output,
      total: input + output,
      calls: Number(row.calls),
      cost_usd: cost,
    });
  }
  return out;
}

/** No calls yet. */
export const noUsage = (): TokenUsage => ({ input: 0, output: 0, total: 0, calls: 0, cost_usd: null, by_model: {} });

/** The sum of several usages (a tree's, from its tasks'). */
export function sumUsage(usages: Iterable<TokenUsage>): TokenUsage {
  const sum = noUsage();
  for (const usage of usages) for (const [name, model] of Object.entries(usage.by_model)) addModel(sum, name, model);
  return sum;
}

/** Adds one model's calls to `usage`, in total and under the model. */
function addModel(usage: TokenUsage, name: string, model: ModelUsage): void {
  const known = usage.by_model[name];
  usage.by_model[name] = known
    ? {
        input: known.input + model.input,
        output: known.output + model.output,
        total: known.total + model.total,
        calls: known.calls + model.calls,
        cost_usd: addUsd(known.cost_usd, model.cost_usd),
      }
    : { ...model };
  usage.input += model.input;
  usage.output += model.output;
  usage.total += model.total;
  usage.calls += model.calls;
  usage.cost_usd = addUsd(usage.cost_usd, model.cost_usd);
}

/** Dollars added; null only when both are unknown. */
const addUsd = (a: number | null, b: number | null) =>
  a === null && b === null ? null : roundUsd((a ?? 0) + (b ?? 0));

/** Dollars summed in floating point, kept to a billionth (no 0.30000000000000004). */
const roundUsd = (usd: number) => Math.round(usd * 1e9) / 1e9;
