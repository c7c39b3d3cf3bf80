import type { SqlRunner, Statement } from './sql.ts';

/**
 * Most writes made into one statement; a write of more (a big tree's insert in chunks) goes in a
 * transaction instead: each count of parts is another text to prepare, and a round trip more or
 * less is nothing beside so many rows.
 */
export const ONE_STATEMENT_PARTS = 4;

/**
 * A runner that collects the writes it is given into `into` instead of sending them, and refuses
 * reads: what `work` decides must not depend on the database, only what it writes.
 */
export function collectingRunner(into: Statement[]): SqlRunner {
  return {
    select() {
      throw new Error('internal: a read inside a write made at once (sql.writeAtOnce)');
    },
    async run(sql: string, params: unknown[] = []) {
      into.push([sql, params]);
    },
  };
}

/** What {@link spillingRunner} gives: the runner for `work`, and how to end the write. */
export interface Spilling {
  runner: SqlRunner;
  /**
   * Once `work` is done: the writes collected, when they never outgrew one statement (the caller
   * sends them); else none, once the transaction opened for them committed.
   */
  finish(): Promise<Statement[]>;
  /** Once `work` failed: rolls back the transaction opened, if one was. */
  abandon(): Promise<void>;
}

/**
 * A runner for a write made at once that may outgrow one statement (a big tree): it collects the
 * writes and refuses reads, as {@link collectingRunner}, until there are more than
 * {@link ONE_STATEMENT_PARTS}; then it opens a transaction with `transaction`, sends those there,
 * and every later write as it comes, so the database stores the first rows while the rest are
 * made. The transaction commits at `finish`.
 */
export function spillingRunner(transaction: (work: (runner: SqlRunner) => Promise<void>) => Promise<void>): Spilling {
  const collected: Statement[] = [];
  const collecting = collectingRunner(collected);
  let spill: ReturnType<typeof openSpill> | undefined;
  return {
    runner: {
      select: collecting.select,
      async run(sql: string, params: unknown[] = []) {
        if (spill) return spill.send([sql, params]);
        await collecting.run(sql, params);
        if (collected.length > ONE_STATEMENT_PARTS) spill = openSpill(transaction, collected.splice(0));
      },
    },
    async finish() {
      await spill?.end(true);
      return collected;
    },
    async abandon() {
      await spill?.end(false).catch(() => undefined);
    },
  };
}

/** The transaction of {@link spillingRunner}: `waiting` first, then each write sent as it comes. */
function openSpill(transaction: (work: (runner: SqlRunner) => Promise<void>) => Promise<void>, waiting: Statement[]) {
  let on: SqlRunner | undefined;
  let release!: (commit: boolean) => void;
  const done = new Promise<void>((resolve, reject) => {
    release = (commit) => (commit ? resolve() : reject(new Error('the write made at once failed')));
  });
  const committed = transaction(async (runner) => {
    // In the order made: writes made while these go are queued behind them.
    for (let next = waiting.shift(); next; next = waiting.shift()) await runner.run(...next);
    on = runner;
    await done;
  });
  // Waited for at the end; a failure before then must not count as unhandled.
  committed.catch(() => undefined);
  return {
    send: (statement: Statement) => (on ? void on.run(...statement) : void waiting.push(statement)),
    /** Commits (`commit`) or rolls back, once every write is made. */
    async end(commit: boolean) {
      release(commit);
      await committed;
    },
  };
}

/**
 * PostgreSQL writes as one statement: each but the last a data-modifying `WITH` part of the last
 * (which may have a `WITH` of its own, and may be a `SELECT`, as a notification is). The
 * statement is atomic and commits by itself: no BEGIN and COMMIT round trips. Every part runs on
 * the same snapshot and none sees another's changes, so the writes must touch different rows
 * (new ones: a tree's rows and their events). `?` placeholders stay in order.
 */
export function oneStatement(statements: readonly Statement[]): Statement {
  const last = statements.at(-1);
  if (!last) throw new Error('internal: no statement to write');
  if (statements.length === 1) return last;
  const parts = statements.slice(0, -1).map(([sql], i) => {
    if (/^\s*(with|select)\b/i.test(sql)) throw new Error('internal: only the last write may be a WITH or a SELECT');
    return `w${i + 1} AS (${sql})`;
  });
  const [lastSql] = last;
  const tail = /^\s*with\s/i.test(lastSql) ? `, ${lastSql.replace(/^\s*with\s+/i, '')}` : ` ${lastSql}`;
  return [`WITH ${parts.join(', ')}${tail}`, statements.flatMap(([, params]) => params)];
}
