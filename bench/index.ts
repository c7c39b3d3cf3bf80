// `npm run bench`: runs every workload several times, each in a fresh process, prints the
// medians against the goals, and writes bench/results/latest.json. Timings are machine-bound:
// compare figures only within one run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { goals } from './goals.ts';
import { workloads, type Figures } from './workloads.ts';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const only = process.argv.slice(2);
const root = join(import.meta.dirname, '..');
const results: Record<string, { runs: Figures[]; median: Figures }> = {};

for (const name of Object.keys(workloads).filter((n) => only.length === 0 || only.includes(n))) {
  const samples: Figures[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, [join(root, 'bin', 'run-ts.js'), join(root, 'bench', 'run-workload.ts'), name], { encoding: 'utf8', cwd: root });
    samples.push(JSON.parse(out.trim().split('\n').at(-1) as string) as Figures);
  }
  results[name] = { runs: samples, median: median(samples) };
}

const verdicts = goals.filter((goal) => results[goal.workload]).map((goal) => {
  const value = Number(results[goal.workload]?.median[goal.figure]);
  const met = goal.at_least !== undefined ? value >= goal.at_least : value <= (goal.at_most as number);
  return { ...goal, value, met };
});

const report = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version },
  runs_per_workload: runs,
  results,
  goals: verdicts,
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);

console.log(`apflow bench — ${report.machine.cpu}, ${report.machine.cores} cores, node ${report.machine.node}, median of ${runs} runs`);
for (const [name, { median: figures }] of Object.entries(results)) console.log(`  ${name.padEnd(16)} ${JSON.stringify(figures)}`);
for (const goal of verdicts) {
  const bound = goal.at_least !== undefined ? `>= ${goal.at_least}` : `<= ${goal.at_most}`;
  console.log(`  ${goal.met ? 'met   ' : 'MISSED'} ${goal.workload}.${goal.figure} = ${goal.value} (goal ${bound}) — ${goal.why}`);
}

function median(samples: Figures[]): Figures {
  const out: Figures = {};
  for (const key of Object.keys(samples[0] ?? {})) {
    const values = samples.map((sample) => sample[key]).filter((value): value is number => typeof value === 'number').sort((a, b) => a - b);
    out[key] = values.length ? (values[Math.floor(values.length / 2)] as number) : (samples[0]?.[key] as string);
  }
  return out;
}
