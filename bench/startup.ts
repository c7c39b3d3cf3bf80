// The `startup` scenario: apflow's build as an app that installed it starts (`apflow serve`, to a
// healthy /health) and idles, against a bare Fastify + sqlite3 process started the same way, in
// the same rounds; then tree-10k on the build for its peak RSS. Prints `{runs, median}` last.
//   node bin/run-ts.js bench/startup.ts        (BENCH_RUNS rounds, at least 5)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, type Figures } from './bench-app.ts';
import { freePort } from './scale-out-servers.ts';
import { makeInstalledApp } from './startup/installed-app.ts';
import { timeStart } from './startup/time-start.ts';

const root = join(import.meta.dirname, '..');
const rounds = Math.max(5, Number(process.env.BENCH_RUNS ?? 3));
const say = (line: string) => process.stderr.write(`startup: ${line}\n`);

say('building apflow (npm run build)');
execFileSync(process.execPath, [join(root, 'scripts/build.js')], { stdio: ['ignore', 'ignore', 'inherit'] });
const work = mkdtempSync(join(tmpdir(), 'apflow-bench-startup-'));
const plain = join(work, 'plain');
const project = join(work, 'project');
makeInstalledApp(root, plain, { project: false });
makeInstalledApp(root, project, { project: true });
cpSync(join(import.meta.dirname, 'startup/bare-health.js'), join(plain, 'bare-health.js'));
cpSync(join(import.meta.dirname, 'startup/tree-10k.js'), join(plain, 'tree-10k.js'));

const serve = ['node_modules/apflow/bin/apflow.js', 'serve', '--host', '127.0.0.1', '--port'];
const start = async (cwd: string, args: string[]) => {
  const port = await freePort();
  return timeStart(cwd, [...args, String(port)], port);
};
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const runs: Figures[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    for (const dir of [join(plain, 'bare.sqlite'), join(plain, '.data'), join(project, '.data')])
      rmSync(dir, { recursive: true, force: true });
    // The project's first start compiles its config and executor (nothing kept from a start before).
    rmSync(join(project, 'node_modules/.cache/apflow'), { recursive: true, force: true });
    const bare = await start(plain, ['bare-health.js']);
    const first = await start(plain, serve);
    const again = await start(plain, serve);
    const projectFirst = await start(project, serve);
    const app = await start(project, serve);
    const tree = JSON.parse(
      execFileSync(process.execPath, ['tree-10k.js'], { cwd: plain, encoding: 'utf8' }),
    ) as Figures;
    const figures: Figures = {
      bare_ms: bare.ms,
      bare_rss_mb: bare.rss_mb,
      restart_ms: again.ms,
      rss_mb: again.rss_mb,
      first_start_ms: first.ms,
      project_first_ms: projectFirst.ms,
      project_ms: app.ms,
      project_rss_mb: app.rss_mb,
      time_ratio: ratio(again.ms, bare.ms),
      rss_ratio: ratio(again.rss_mb, bare.rss_mb),
      first_start_ratio: ratio(first.ms, bare.ms),
      project_first_ratio: ratio(projectFirst.ms, bare.ms),
      project_time_ratio: ratio(app.ms, bare.ms),
      project_rss_ratio: ratio(app.rss_mb, bare.rss_mb),
      tree_10k_peak_rss_mb: Number(tree.peak_rss_mb),
      tree_10k_tasks_per_s: Number(tree.tasks_per_s),
    };
    say(`round ${round}: ${JSON.stringify(figures)}`);
    runs.push(figures);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ runs, median: median(runs) })}\n`);
process.exit(0);
