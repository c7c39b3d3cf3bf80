// apflow in the `peers` scenario: an in-process app (createApp, like the tree-10k workload) on a
// fresh SQLite file or a fresh PostgreSQL database, with the bench executors and default engine
// settings (concurrency 64), at the durability its pair asks for (issue 27): SQLite
// `synchronous=full` (an fsync per commit, the default) or `normal` (WAL synced at checkpoints);
// PostgreSQL `synchronous_commit=on` (the server's default, set explicitly so that a server of
// the user's with it off does not make the pair unequal).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from 'apflow';
import { CONCURRENCY, createMarks, quiet, sampleDelays, type Peer, type PeerSession } from './peers-common.ts';
import { started } from './started.ts';
import { createPostgresDatabase, postgresProblem } from './scale-out-servers.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const store = globalThis as unknown as { benchStarts?: number[] };

/** Where apflow runs in a pair: a SQLite file at either `synchronous`, or PostgreSQL. */
export type ApflowSetting = 'sqlite_full' | 'sqlite_normal' | 'postgres';

const labels: Record<ApflowSetting, string> = {
  sqlite_full: 'apflow, SQLite synchronous=full',
  sqlite_normal: 'apflow, SQLite synchronous=normal',
  postgres: 'apflow, PostgreSQL',
};

/** apflow on SQLite (a file, WAL) at `synchronous` full or normal, or on PostgreSQL. */
export function apflowPeer(setting: ApflowSetting): Peer {
  const postgres = setting === 'postgres';
  return {
    key: postgres ? 'apflow_pg' : `apflow_${setting}`,
    label: labels[setting],
    problem: async () => (postgres ? postgresProblem() : undefined),
    async setUp() {
      const dir = mkdtempSync(join(tmpdir(), 'apflow-bench-peers-'));
      const db = postgres
        ? await createPostgresDatabase()
        : { url: `sqlite:${join(dir, 'bench.sqlite')}`, drop: async () => undefined };
      const database = postgres
        ? { url: db.url, postgres: { synchronous_commit: 'on' as const } }
        : {
            url: db.url,
            sqlite: { synchronous: setting === 'sqlite_normal' ? ('normal' as const) : ('full' as const) },
          };
      let app: App | undefined;
      try {
        app = await createApp({
          env: {},
          logStream: quiet(),
          inline: {
            database,
            executors: { dirs: [fixtures] },
            log: { level: 'warn' },
            engine: { concurrency: CONCURRENCY },
            examples: { auto_init: false },
          },
        });
      } catch (error) {
        await db.drop();
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
      return session(app, async () => {
        await app.close();
        await db.drop();
        rmSync(dir, { recursive: true, force: true });
      });
    },
  };
}

function session(app: App, close: () => Promise<void>): PeerSession {
  let calls = 0;
  const tree = async (children: number, prefix: string) => {
    const tasks = [
      { id: `${prefix}root`, name: 'root', parent_id: null as string | null, schemas: { method: 'bench_noop' } },
    ];
    for (let i = 1; i <= children; i++)
      tasks.push({
        id: `${prefix}t${i}`,
        name: `t${i}`,
        parent_id: `${prefix}root`,
        schemas: { method: 'bench_noop' },
      });
    const start = performance.now();
    const { done } = started(await app.engine.execute({ tasks }));
    const outcome = await done;
    if (outcome.status !== 'completed') throw new Error(`tree ended ${outcome.status}`);
    return performance.now() - start;
  };
  /** Each job a tree of one task, created and begun in one transaction (what `tasks.execute {tasks}` does), 64 submitters. */
  const jobs = async (count: number, prefix: string) => {
    const start = performance.now();
    const outcomes: Promise<{ status: string }>[] = [];
    let next = 0;
    const submitter = async () => {
      while (next < count) {
        const id = `${prefix}j${next++}`;
        const tasks = [{ id, name: id, schemas: { method: 'bench_noop' } }];
        outcomes.push(started(await app.engine.execute({ tasks })).done);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, submitter));
    const failed = (await Promise.all(outcomes)).filter((outcome) => outcome.status !== 'completed').length;
    if (failed) throw new Error(`${failed} single-task trees did not complete`);
    return performance.now() - start;
  };
  const session: PeerSession = {
    // Each call its own ids (the scenario calls each twice: a warm-up, then the measured run).
    tree: (children) => tree(children, `t${calls++}-`),
    jobs: (count) => jobs(count, `j${calls++}-`),
    async latency(samples) {
      const marks = createMarks();
      return sampleDelays(samples, async () => {
        store.benchStarts = [];
        // bench_mark pushes its start time: turn the push into the marks' hit.
        store.benchStarts.push = (...items: number[]) => (marks.hit(), items.length);
        let done: Promise<unknown> = Promise.resolve();
        const delay = await marks.measure(async () => {
          const tasks = [{ name: 'mark', schemas: { method: 'bench_mark' } }];
          done = started(await app.engine.execute({ tasks })).done;
        });
        await done;
        return delay;
      });
    },
    async durability() {
      // The setting as the connection reports it (the ping reads it back), not as asked.
      const { durability, error } = await app.storage.ping();
      if (!durability) throw new Error(`apflow's database did not say its durability: ${error ?? 'no answer'}`);
      return `${app.storage.dialect === 'sqlite' ? 'synchronous' : 'synchronous_commit'}=${durability}`;
    },
    close,
  };
  return session;
}
