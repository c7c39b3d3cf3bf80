// Reads what the recording executor wrote (scale_runs) and reasons about the run intervals.
import type { TestContext } from 'node:test';
import pg from 'pg';

/** One recorded run; times are microseconds since the epoch, on the database's clock. */
export interface RunRow {
  id: number;
  task_id: string;
  root_task_id: string;
  user_id: string | null;
  server: string;
  start: number;
  /** Null when the process running it was killed before it ended. */
  end: number | null;
}

/** A client on the test database, closed when the test ends. */
export async function runsReader(t: TestContext, databaseUrl: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  // The database is dropped (terminating this connection) when the test ends, maybe before end().
  client.on('error', () => undefined);
  await client.connect();
  t.after(() => client.end());
  return {
    /** Every recorded run, oldest first (none while the table does not exist yet). */
    async runs(): Promise<RunRow[]> {
      try {
        const { rows } = await client.query<{
          id: string;
          task_id: string;
          root_task_id: string;
          user_id: string | null;
          server: string;
          start_us: string;
          end_us: string | null;
        }>(
          `SELECT id, task_id, root_task_id, user_id, server,
                  (extract(epoch FROM started_at) * 1000000)::bigint::text AS start_us,
                  (extract(epoch FROM ended_at) * 1000000)::bigint::text AS end_us
             FROM scale_runs ORDER BY started_at, id`,
        );
        return rows.map((row) => ({
          id: Number(row.id),
          task_id: row.task_id,
          root_task_id: row.root_task_id,
          user_id: row.user_id,
          server: row.server,
          start: Number(row.start_us),
          end: row.end_us === null ? null : Number(row.end_us),
        }));
      } catch (error) {
        if ((error as { code?: string }).code === '42P01') return [];
        throw error;
      }
    },
    /** The database's clock now, in microseconds since the epoch. */
    async now(): Promise<number> {
      const { rows } = await client.query<{ now_us: string }>(
        'SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text AS now_us',
      );
      return Number(rows[0]?.now_us);
    },
  };
}

/** A run's interval, [start, end) in microseconds. */
export interface Interval {
  start: number;
  end: number;
}

/** The most intervals open at one instant (an interval ending at t does not overlap one starting at t). */
export function maxOverlap(intervals: readonly Interval[]): number {
  const edges = intervals.flatMap((run) => [
    { at: run.start, delta: 1 },
    { at: run.end, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let most = 0;
  for (const edge of edges) {
    open += edge.delta;
    most = Math.max(most, open);
  }
  return most;
}

/**
 * Whether some instant has at least `a` intervals of `first` and at least `b` of `second` open
 * at once.
 */
export function someInstant(first: readonly Interval[], a: number, second: readonly Interval[], b: number): boolean {
  const edges = [
    ...first.flatMap((run) => [
      { at: run.start, delta: 1, which: 0 },
      { at: run.end, delta: -1, which: 0 },
    ]),
    ...second.flatMap((run) => [
      { at: run.start, delta: 1, which: 1 },
      { at: run.end, delta: -1, which: 1 },
    ]),
  ].sort((x, y) => x.at - y.at || x.delta - y.delta);
  const open = [0, 0];
  for (const edge of edges) {
    open[edge.which] = (open[edge.which] ?? 0) + edge.delta;
    if ((open[0] ?? 0) >= a && (open[1] ?? 0) >= b) return true;
  }
  return false;
}

/** Pairs of runs of one task whose intervals overlap (each pair once). */
export function overlappingRuns(
  runs: readonly (Interval & { task_id: string; server: string; id: number })[],
): string[] {
  const byTask = new Map<string, (typeof runs)[number][]>();
  for (const run of runs) byTask.set(run.task_id, [...(byTask.get(run.task_id) ?? []), run]);
  const found: string[] = [];
  for (const [task, list] of byTask) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const [x, y] = [list[i], list[j]] as [(typeof runs)[number], (typeof runs)[number]];
        if (x.start < y.end && y.start < x.end)
          found.push(
            `${task}: run ${x.id} on ${x.server} [${x.start}, ${x.end}) overlaps run ${y.id} on ${y.server} [${y.start}, ${y.end})`,
          );
      }
    }
  }
  return found;
}
