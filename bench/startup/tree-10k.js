// tree-10k on apflow's build, in an app that installed it (run by bench/startup.ts): one root and
// 9,999 no-op leaves on a SQLite file, then the process's peak RSS. Prints one JSON line.
import { createApp, defineExecutor } from 'apflow';

const noop = defineExecutor({ id: 'bench_noop', description: 'does nothing', execute: () => ({ ok: true }) });
const app = await createApp({
  env: {},
  inline: { database: { url: 'sqlite:.data/tree.sqlite' }, executors: { dirs: [] }, log: { level: 'warn' } },
  executors: [noop],
});
const tasks = [{ id: 'root', name: 'root', schemas: { method: 'bench_noop' } }];
for (let i = 1; i < 10_000; i++)
  tasks.push({ id: `t${i}`, name: `t${i}`, parent_id: 'root', schemas: { method: 'bench_noop' } });
await app.engine.createTree(tasks);
const start = performance.now();
const answer = await app.engine.execute('root');
if (!answer.started) throw new Error('the tree was running already');
const outcome = await answer.done;
const ms = performance.now() - start;
await app.close();
if (outcome.status !== 'completed') throw new Error(`tree ended ${outcome.status}`);
const figures = {
  tasks_per_s: Math.round(10_000 / (ms / 1000)),
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
};
process.stdout.write(`${JSON.stringify(figures)}\n`);
process.exit(0);
