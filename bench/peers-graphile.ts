// graphile-worker 0.17 in the `peers` scenario, on a fresh PostgreSQL database of the round's own:
// `run()` with concurrency 64 (apflow's default) and a pool of 16 connections, otherwise default
// settings (no local queue, no batched completions); jobs added with WorkerUtils.addJobs (one
// statement) or addJob (one at a time, for latency). It wakes on LISTEN/NOTIFY.
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import {
  CONCURRENCY,
  createMarks,
  postgresDurability,
  sampleDelays,
  until,
  type Peer,
  type PeerSession,
} from './peers-common.ts';
import { createPostgresDatabase, postgresProblem } from './scale-out-servers.ts';

const silent = new Logger(() => () => undefined);

export const graphilePeer: Peer = {
  key: 'graphile',
  label: 'graphile-worker 0.17 (PostgreSQL)',
  problem: postgresProblem,
  async setUp(): Promise<PeerSession> {
    const db = await createPostgresDatabase();
    const marks = createMarks();
    let runner: Runner | undefined;
    let utils: WorkerUtils | undefined;
    // One pool of our own for the runner and the utils, ended after them: its idle clients must
    // not outlive the round (DROP DATABASE … WITH (FORCE) would terminate them, an 'error' event).
    const pool = new pg.Pool({ connectionString: db.url, max: 16 });
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const counter = new pg.Client({ connectionString: db.url });
    counter.on('error', () => undefined);
    const close = async () => {
      await Promise.allSettled([runner?.stop(), utils?.release(), counter.end()]);
      await pool.end().catch(() => undefined);
      await db.drop();
    };
    try {
      runner = await run({
        pgPool: pool,
        concurrency: CONCURRENCY,
        noHandleSignals: true,
        logger: silent,
        taskList: { noop: async () => undefined, mark: async () => marks.hit() },
      });
      utils = await makeWorkerUtils({ pgPool: pool, logger: silent });
      await counter.connect();
    } catch (error) {
      await close();
      throw error;
    }
    const add = utils;
    // Completed jobs are deleted: none left means every one ran and was completed.
    const left = async () =>
      Number((await counter.query('SELECT count(*) AS n FROM graphile_worker._private_jobs')).rows[0].n);
    const jobs = async (count: number) => {
      const start = performance.now();
      await add.addJobs(Array.from({ length: count }, (_, i) => ({ identifier: 'noop', payload: { i } })));
      await until(async () => (await left()) === 0, 'graphile-worker jobs', 60_000);
      return performance.now() - start;
    };
    return {
      jobs,
      durability: () => postgresDurability(counter),
      latency: (samples) => sampleDelays(samples, () => marks.measure(() => add.addJob('mark', {}))),
      close,
    };
  },
};
