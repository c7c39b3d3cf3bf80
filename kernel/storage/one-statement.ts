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
   * Ends the write once `work` is done (`failed`: its error): the writes collected, when there
   * were too few to open the transaction (the caller sends them), else none once it committed
   * (or rolled back, on `failed`, which is thrown again).
   */
  finish(failed?: { error: unknown }): Promise<Statement[]>;
}

/**
 * A runner for a write made at once that may outgrow one statement (a big tree): it collects the
 * writes and refuses reads, like {@link collectingRunner}, until there are more than
 * {@link ONE_STATEMENT_PARTS}; then it opens a transaction with `transaction`, sends those there,
 * and every later write as it comes, so the database stores the first rows while the rest are
 * made. The transaction commits when `finish` is called.
 */
export function spillingRunner(transaction: (work: (runner: SqlRunner) => Promise<void>) => Promise<void>): Spilling {
  const collected: Statement[] = [];
  let spill: { send(statement: Statement): void; end(failed?: { error: unknown }): Promise<void> } | undefined;
  const open = () => {
    const waiting = collected.splice(0);
    let on: SqlRunner | undefined;
    let release!: (failed?: { error: unknown }) => void;
    const finished = new Promise<void>((resolve, reject) => {
      release = (failed) => (failed ? reject(failed.error) : resolve());
    });
    const committed = transaction(async (runner) => {
      // In the order made: writes made while these go are queued behind them.
      for (let next = waiting.shift(); next; next = waiting.shift()) await runner.run(...next);
      on = runner;
      await finished;
    });
    // Waited for at `finish`; a failure before then must not count as unhandled.
    committed.catch(() => undefined);
    return {
      send: (statement: Statement) => (on ? void on.run(...statement) : void waiting.push(statement)),
      async end(failed?: { error: unknown }) {
        release(failed);
        await committed;
      },
    };
  };
  return {
    runner: {
      select() {
        throw new Error('internal: a read inside a write made at once (sql.writeAtOnce)');
      },
      async run(sql: string, params: unknown[] = []) {
        if (spill) return spill.send([sql, params]);
        collected.push([sql, params]);
        if (collected.length > ONE_STATEMENT_PARTS) spill = open();
      },
    },
    async finish(failed) {
      if (spill) await spill.end(failed);
      else if (failed) throw failed.error;
      return collected;
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
