// The `peers` scenario's results: each round's ratios (from that round's pairs), the medians over
// the rounds, and the readable table on stderr.
import type { Peer } from './peers-common.ts';
import { figureOf, ratios } from './peers-plan.ts';

/** One round's figures (or the medians): numbers, and strings for what was read back. */
export type Figures = Record<string, number | string>;

const round2 = (value: number) => Math.round(value * 100) / 100;

/** Adds to a round's figures the ratios whose two sides it measured. */
export function addRatios(figures: Figures): void {
  for (const { figure, kind, top, bottom } of ratios) {
    const [a, b] = [figures[`${top}_${figureOf[kind]}`], figures[`${bottom}_${figureOf[kind]}`]];
    if (typeof a === 'number' && typeof b === 'number' && b > 0) figures[figure] = round2(a / b);
  }
}

/** The median (the mean of the two middle values for an even count). */
export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : round2(((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2);
}

/**
 * Medians over the rounds: of each figure and of each round's ratio (not the ratio of the
 * medians: each ratio comes from a pair measured back to back). Strings (the durability read back
 * at each measurement) become the distinct values seen; the loads their range.
 */
export function summarise(runs: readonly Figures[], header: Figures): Figures {
  const median: Figures = { ...header };
  const keys = [...new Set(runs.flatMap((figures) => Object.keys(figures)))];
  const loads: number[] = [];
  for (const key of keys) {
    const values = runs.map((figures) => figures[key]).filter((value) => value !== undefined);
    if (key === 'load_start' || key === 'load_end') {
      loads.push(...values.map((value) => Number(String(value).split(' ')[0])));
      continue;
    }
    if (key === 'order') continue;
    const numbers = values.filter((value): value is number => typeof value === 'number');
    median[key] = numbers.length === values.length ? medianOf(numbers) : [...new Set(values)].join(' / ');
  }
  if (loads.length) {
    median.load_1m_min = Math.min(...loads);
    median.load_1m_max = Math.max(...loads);
  }
  return median;
}

const cell = (value: number | string | undefined, width: number) => `${value ?? '—'}`.padStart(width);

/** The table of medians, the ratios round by round, and the loads, on `say`. */
export function printSummary(
  say: (line: string) => void,
  systems: readonly Peer[],
  runs: readonly Figures[],
  median: Figures,
  problems: Record<string, string>,
): void {
  say(`median of ${runs.length} rounds:`);
  say(
    `  ${'system'.padEnd(38)} ${'tree tasks/s'.padStart(12)} ${'jobs/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`,
  );
  for (const peer of systems) {
    const get = (figure: string) => median[`${peer.key}_${figure}`];
    const problem = Object.keys(problems).some((key) => key.startsWith(peer.key)) ? '  (see errors)' : '';
    say(
      `  ${peer.label.padEnd(38)} ${cell(get('tree_tasks_per_s'), 12)} ${cell(get('jobs_per_s'), 8)} ${cell(get('p50_ms'), 8)} ${cell(get('p99_ms'), 8)}${problem}`,
    );
  }
  for (const { figure } of ratios) {
    if (median[figure] === undefined) continue;
    const each = runs.map((figures) => figures[figure] ?? '—').join(', ');
    say(`  ${figure.padEnd(40)} ×${median[figure]}  (rounds: ${each})`);
  }
  runs.forEach((figures, r) => say(`  round ${r + 1} load ${figures.load_start} → ${figures.load_end}`));
  for (const [key, message] of Object.entries(problems)) say(`  ${key}: ${message}`);
}
