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
