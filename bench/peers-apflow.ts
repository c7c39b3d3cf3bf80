// apflow in the `peers` scenario: an in-process app (createApp, like the tree-10k workload) on a
// fresh SQLite file or a fresh PostgreSQL database, with the bench executors and default engine
// settings (concurrency 64).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp, type App } from 'apflow';
import { CONCURRENCY, createMarks, sampleDelays, type Peer, type PeerSession } from './peers-common.ts';
import { started } from './started.ts';
import { createPostgresDatabase, postgresProblem } from './scale-out-servers.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const quiet = () => new Writable({ write: (_chunk, _encoding, done) => done() });
const store = globalThis as unknown as { benchStarts?: number[] };

/** apflow on SQLite (a file, WAL) or on PostgreSQL. */
export function apflowPeer(database: 'sqlite' | 'postgres'): Peer {
  return {
    key: database === 'sqlite' ? 'apflow_sqlite' : 'apflow_pg',
    label: database === 'sqlite' ? 'apflow, SQLite' : 'apflow, PostgreSQL',
    problem: async () => (database === 'postgres' ? postgresProblem() : undefined),
    async setUp() {
      const dir = mkdtempSync(join(tmpdir(), 'apflow-bench-peers-'));
      const db =
        database === 'postgres'
          ? await createPostgresDatabase()
          : { url: `sqlite:${join(dir, 'bench.sqlite')}`, drop: async () => undefined };
      let app: App | undefined;
      try {
        app = await createApp({
          env: {},
          logStream: quiet(),
          inline: {
            database: { url: db.url },
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
    await app.engine.createTree(tasks);
    const { done } = started(await app.engine.execute(`${prefix}root`));
    const outcome = await done;
    if (outcome.status !== 'completed') throw new Error(`tree ended ${outcome.status}`);
    return performance.now() - start;
  };
  /** Each job a tree of one task, created and executed (what `tasks.create` + `tasks.execute` do), 64 submitters. */
  const jobs = async (count: number, prefix: string) => {
    const start = performance.now();
    const outcomes: Promise<{ status: string }>[] = [];
    let next = 0;
    const submitter = async () => {
      while (next < count) {
        const id = `${prefix}j${next++}`;
        await app.engine.createTree([{ id, name: id, schemas: { method: 'bench_noop' } }]);
        outcomes.push(started(await app.engine.execute(id)).done);
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
          const created = await app.engine.createTree([{ name: 'mark', schemas: { method: 'bench_mark' } }]);
          done = started(await app.engine.execute(created.id)).done;
        });
        await done;
        return delay;
      });
    },
    close,
  };
  return session;
}
