// `npm run bench`: runs every workload several times, each in a fresh process, prints the
// medians against the goals, and writes bench/results/latest.json: the workloads run now replace
// theirs, the others keep their last results (each with its date). Timings are machine-bound:
// compare figures only within one run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { median } from './bench-app.ts';
import { goals } from './goals.ts';
import { startServices, versions } from './services.ts';
import { workloads, type Figures } from './workloads.ts';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const only = process.argv.slice(2);
const root = join(import.meta.dirname, '..');
type Result = { date?: string; runs: Figures[]; median: Figures };
const results: Record<string, Result> = {};
/**
 * Scenarios that start servers of their own and repeat their rounds themselves (BENCH_RUNS): each
 * runs once and prints `{runs, median}` as its last stdout line.
 */
const scenarios: Record<string, string> = {
  'scale-out': join(root, 'bench', 'scale-out.ts'),
  peers: join(root, 'bench', 'peers.ts'),
  startup: join(root, 'bench', 'startup.ts'),
};
const names = [...Object.keys(workloads), ...Object.keys(scenarios)];
const unknown = only.filter((name) => !names.includes(name));
if (unknown.length) {
  console.error(`unknown workload ${unknown.join(', ')} (known: ${names.join(', ')})`);
  process.exit(2);
}
const lastLine = (out: string) => JSON.parse(out.trim().split('\n').at(-1) as string) as unknown;
const selected = names.filter((n) => only.length === 0 || only.includes(n));
/** The servers each scenario measures on, started by the bench (see services.ts). */
const needs: Record<string, ('postgres' | 'redis')[]> = {
  'scale-out': ['postgres'],
  peers: ['postgres', 'redis'],
  'durable-timers': ['postgres'],
};
const stopServices = startServices([...new Set(selected.flatMap((name) => needs[name] ?? []))], (line) =>
  console.error(`bench: ${line}`),
);

for (const name of selected) {
  const scenario = scenarios[name];
  if (scenario) {
    const out = execFileSync(process.execPath, [join(root, 'bin', 'run-ts.js'), scenario], {
      encoding: 'utf8',
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    results[name] = lastLine(out) as { runs: Figures[]; median: Figures };
    continue;
  }
  const samples: Figures[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(
      process.execPath,
      [join(root, 'bin', 'run-ts.js'), join(root, 'bench', 'run-workload.ts'), name],
      { encoding: 'utf8', cwd: root },
    );
    samples.push(lastLine(out) as Figures);
  }
  results[name] = { runs: samples, median: median(samples) };
}

const measuredWith = await versions();
stopServices();
const date = new Date().toISOString();
for (const result of Object.values(results)) result.date = date;
const latestFile = join(root, 'bench', 'results', 'latest.json');
// A run of some workloads keeps the others' last results (they say when they were measured).
const earlier = existsSync(latestFile)
  ? (JSON.parse(readFileSync(latestFile, 'utf8')) as { date?: string; results?: Record<string, Result> })
  : {};
for (const [name, result] of Object.entries(earlier.results ?? {}))
  if (!results[name] && names.includes(name)) results[name] = { ...result, date: result.date ?? earlier.date };

const verdicts = goals
  .filter((goal) => results[goal.workload])
  .map((goal) => {
    const value = Number(results[goal.workload]?.median[goal.figure]);
    // A figure without a bound is reported only (met: null in the JSON).
    const met =
      goal.at_least !== undefined ? value >= goal.at_least : goal.at_most !== undefined ? value <= goal.at_most : null;
    return { ...goal, value, met };
  });

const report = {
  date,
  machine: {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  versions: measuredWith,
  runs_per_workload: runs,
  results,
  goals: verdicts,
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(latestFile, `${JSON.stringify(report, null, 2)}\n`);

console.log(
  `apflow bench — ${report.machine.cpu}, ${report.machine.cores} cores, node ${report.machine.node}, median of ${runs} runs`,
);
for (const [name, result] of Object.entries(results))
  console.log(
    `  ${name.padEnd(16)} ${JSON.stringify(result.median)}${result.date === date ? '' : ` (earlier run, ${result.date})`}`,
  );
for (const goal of verdicts) {
  const bound =
    goal.at_least !== undefined
      ? `goal >= ${goal.at_least}`
      : goal.at_most !== undefined
        ? `goal <= ${goal.at_most}`
        : 'reported, no goal';
  const verdict = goal.met === null ? (Number.isNaN(goal.value) ? 'n/a   ' : 'report') : goal.met ? 'met   ' : 'MISSED';
  console.log(`  ${verdict} ${goal.workload}.${goal.figure} = ${goal.value} (${bound}) — ${goal.why}`);
}
