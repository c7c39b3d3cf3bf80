import type Pg from 'pg';
import { lazyRequire } from '../internal/lazy-require.ts';

const pg = lazyRequire<typeof Pg>('pg');

/** PostgreSQL's type id of `timestamp with time zone` (every time column apflow makes). */
const TIMESTAMPTZ = 1184;

/** A `timestamptz` as PostgreSQL writes it in UTC (DateStyle ISO): date, time, up to 6 decimals, `+00`. */
const UTC_TEXT = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/;

/**
 * A `timestamptz` as the ISO-8601 UTC text apflow writes (`2026-12-04T19:20:37.123Z`, what SQLite
 * gives back), to the millisecond, as a JavaScript Date would keep it. Another offset (a session
 * in another time zone) goes through a Date; what no Date can hold (`infinity`, a date BC) is
 * kept as PostgreSQL wrote it.
 */
export function isoTimestamp(text: string): string {
  const utc = UTC_TEXT.exec(text);
  if (utc) return `${utc[1]}T${utc[2]}.${(utc[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toISOString();
}

/**
 * The type parsers apflow's statements read their results with (node-postgres' per-query
 * `types`): a `timestamptz` as ISO text (see {@link isoTimestamp}) instead of a Date, which the
 * task rows turned back into text at once (parsing and formatting 7 columns of every claimed
 * row: ~4% of the server's time on a PostgreSQL tree); every other type as node-postgres reads it.
 */
export const apflowTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === TIMESTAMPTZ && format !== 'binary') return isoTimestamp;
    return pg().types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};
