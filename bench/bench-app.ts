import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp, type App } from 'apflow';

/** One measured workload: its figures, by name. */
export type Figures = Record<string, number | string>;

/** A log stream that drops everything. */
export const quiet = () => new Writable({ write: (_chunk, _encoding, done) => done() });
/** The bench's executors. */
export const fixtures = join(import.meta.dirname, 'fixtures');
/** The apps' SQLite durability (`BENCH_SQLITE_SYNCHRONOUS=normal`; default apflow's, `full`). */
const synchronous = (process.env.BENCH_SQLITE_SYNCHRONOUS ?? 'full') as 'full' | 'normal';
/** The apps' log level (`BENCH_LOG_LEVEL=info` to measure with the server's default). */
const logLevel = (process.env.BENCH_LOG_LEVEL ?? 'warn') as 'warn';

/**
 * Runs `work` on an in-process apflow over a fresh SQLite file (removed after); `afterClose`
 * gets the file once the app has closed it.
 */
export async function withApp<T>(
  work: (app: App, file: string) => Promise<T>,
  engine: Record<string, unknown> = JSON.parse(process.env.BENCH_ENGINE ?? '{}'),
  extra: Record<string, unknown> = {},
  afterClose?: (file: string) => Promise<void>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'apflow-bench-'));
  const file = join(dir, 'bench.sqlite');
  const app = await createApp({
    env: {},
    logStream: quiet(),
    inline: {
      database: { url: `sqlite:${file}`, sqlite: { synchronous } },
      executors: { dirs: [fixtures] },
      log: { level: logLevel },
      engine,
      ...extra,
    },
  });
  try {
    return await work(app, file);
  } finally {
    await app.close();
    try {
      await afterClose?.(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** The process's peak resident memory so far, in MB. */
export const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** The median of each figure over runs (a string figure: the first run's). */
export function median(samples: Figures[]): Figures {
  const out: Figures = {};
  for (const key of Object.keys(samples[0] ?? {})) {
    const values = samples
      .map((sample) => sample[key])
      .filter((value): value is number => typeof value === 'number')
      .sort((a, b) => a - b);
    out[key] = values.length ? (values[Math.floor(values.length / 2)] as number) : (samples[0]?.[key] as string);
  }
  return out;
}
