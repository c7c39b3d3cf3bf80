/** Shared setup of the metrics tests: a strict Prometheus exposition parser, sums of samples, and a scrape. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot } from '../helpers.ts';

/** The fixture executors folder. */
export const fixtures = join(repoRoot, 'test', 'fixtures', 'executors');

/** One sample line: `name{label="value",…} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed scrape: families by name (with HELP and TYPE) and every sample. */
interface Exposition {
  families: Map<string, { help: string; type: string }>;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\["\\\\n])*"';
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{((?:${LABEL}=${LABEL_VALUE})(?:,${LABEL}=${LABEL_VALUE})*)?,?\\})? (\\S+)(?: -?\\d+)?$`,
);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/**
 * Parses Prometheus text exposition (format 0.0.4) strictly: every line is a HELP, a TYPE
 * (before the family's samples, once), or a sample of a declared family with valid labels and
 * a float value; histograms have a `+Inf` bucket equal to their count, and cumulative buckets.
 */
function parseExposition(text: string): Exposition {
  const families = new Map<string, { help: string; type: string }>();
  const samples: Sample[] = [];
  const help = new Map<string, string>();
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  for (const line of text.split('\n').slice(0, -1)) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      assert.match(name, new RegExp(`^${NAME}$`), `metric name ${name}`);
      if (kind === 'HELP') {
        assert.ok(!help.has(name), `one HELP for ${name}`);
        help.set(name, rest);
      } else {
        assert.ok(TYPES.has(rest), `TYPE of ${name}: ${rest}`);
        assert.ok(!families.has(name), `one TYPE for ${name}`);
        assert.ok(
          !samples.some((sample) => familyOf(sample.name, families) === name),
          `TYPE of ${name} before its samples`,
        );
        families.set(name, { help: help.get(name) ?? '', type: rest });
      }
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment line: ${line}`);
    const match = SAMPLE.exec(line);
    assert.ok(match, `sample syntax: ${line}`);
    const [, name, labelText, valueText] = match as unknown as [string, string, string | undefined, string];
    const value =
      valueText === '+Inf'
        ? Infinity
        : valueText === '-Inf'
          ? -Infinity
          : /^nan$/i.test(valueText)
            ? NaN
            : Number(valueText);
    // NaN in any case, as Prometheus's parser reads it (prom-client writes `Nan` for a gauge with
    // no sample yet, e.g. the event-loop lag scraped right after the start).
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(valueText), `sample value: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (labelText ?? '').matchAll(new RegExp(`(${LABEL})=(${LABEL_VALUE})`, 'g'))) {
      assert.ok(!((key as string) in labels), `label ${key} once: ${line}`);
      labels[key as string] = (raw as string).slice(1, -1).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    assert.ok(familyOf(name, families), `sample of a declared family: ${line}`);
    samples.push({ name, labels, value });
  }
  for (const [name, family] of families) {
    assert.ok(family.help, `HELP for ${name}`);
    if (family.type === 'histogram') checkHistogram(name, samples);
  }
  return { families, samples };
}

function familyOf(sample: string, families: Map<string, { type: string }>): string | undefined {
  if (families.has(sample)) return sample;
  for (const [name, family] of families) {
    if ((SUFFIXES[family.type] ?? []).some((suffix) => sample === `${name}${suffix}`)) return name;
  }
  return undefined;
}

function checkHistogram(name: string, samples: Sample[]): void {
  const series = new Map<string, Sample[]>();
  for (const sample of samples.filter((each) => each.name === `${name}_bucket`)) {
    const { le, ...rest } = sample.labels;
    assert.ok(le !== undefined, `${name}_bucket has le`);
    const key = JSON.stringify(rest);
    series.set(key, [...(series.get(key) ?? []), sample]);
  }
  for (const [key, buckets] of series) {
    const values = buckets.map((bucket) => bucket.value);
    assert.deepEqual(
      values,
      [...values].sort((a, b) => a - b),
      `${name}${key} buckets are cumulative`,
    );
    const inf = buckets.find((bucket) => bucket.labels.le === '+Inf');
    const count = samples.find((sample) => sample.name === `${name}_count` && JSON.stringify(sample.labels) === key);
    assert.ok(inf && count, `${name}${key} has a +Inf bucket and a count`);
    assert.equal(inf.value, count.value, `${name}${key}: +Inf bucket equals count`);
  }
}

/** The sum of the samples named `name` whose labels include `labels`. */
export function total(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  return exposition.samples
    .filter(
      (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** Scrapes `base`/metrics and parses it strictly. */
export async function scrape(base: string): Promise<{ text: string; exposition: Exposition }> {
  const response = await fetch(`${base}/metrics`, { headers: { connection: 'close' } });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  return { text, exposition: parseExposition(text) };
}
