// pg-boss 10 in the `peers` scenario, on a fresh PostgreSQL database of the round's own.
//
// Throughput: pg-boss 10's `work()` loop sleeps out its polling interval (at least 0.5 s) after
// every fetch, so with 64 jobs in flight it cannot pass 128 jobs/s; the bench drives `fetch()` and
// `complete()` itself instead, in 4 tight loops of batches of 16 (64 jobs in flight, pg-boss's
// best case). Latency: pg-boss 10 has no LISTEN/NOTIFY, a job waits for the next poll, so it is
// measured with `work()` at the minimum interval (0.5 s), jobs sent at a random moment.
import PgBoss from 'pg-boss';
import pg from 'pg';
import {
  CONCURRENCY,
  createMarks,
  postgresDurability,
  sampleDelays,
  sleep,
  until,
  type Peer,
  type PeerSession,
} from './peers-common.ts';
import { createPostgresDatabase, postgresProblem } from './scale-out-servers.ts';

const LOOPS = 4;

export const pgbossPeer: Peer = {
  key: 'pgboss',
  label: 'pg-boss 10 (PostgreSQL)',
  problem: postgresProblem,
  async setUp(): Promise<PeerSession> {
    const db = await createPostgresDatabase();
    const boss = new PgBoss({ connectionString: db.url, max: LOOPS + 2, supervise: false, schedule: false });
    boss.on('error', () => undefined); // a round that breaks fails on its own deadline
    const counter = new pg.Client({ connectionString: db.url });
    counter.on('error', () => undefined);
    try {
      await boss.start();
      await counter.connect();
      await boss.createQueue('noop');
      await boss.createQueue('mark');
    } catch (error) {
      await Promise.allSettled([boss.stop({ graceful: false, wait: true }), counter.end()]);
      await db.drop();
      throw error;
    }
    const noop = async (data: unknown) => data;
    const open = async () =>
      Number(
        (await counter.query("SELECT count(*) AS n FROM pgboss.job WHERE name = 'noop' AND state <> 'completed'"))
          .rows[0].n,
      );

    const jobs = async (count: number) => {
      const start = performance.now();
      await boss.insert(Array.from({ length: count }, (_, i) => ({ name: 'noop', data: { i } })));
      let left = count;
      const loop = async () => {
        while (left > 0) {
          const batch = await boss.fetch<unknown>('noop', { batchSize: CONCURRENCY / LOOPS });
          if (batch.length === 0) {
            await sleep(2);
            continue;
          }
          left -= batch.length;
          await Promise.all(batch.map((job) => noop(job.data)));
          await boss.complete(
            'noop',
            batch.map((job) => job.id),
          );
        }
      };
      await Promise.all(Array.from({ length: LOOPS }, loop));
      await until(async () => (await open()) === 0, 'pg-boss completions', 60_000);
      return performance.now() - start;
    };
    return {
      jobs,
      durability: () => postgresDurability(counter),
      async latency(samples) {
        const marks = createMarks();
        const worker = await boss.work('mark', { pollingIntervalSeconds: 0.5, batchSize: 1 }, async () => marks.hit());
        try {
          return await sampleDelays(
            samples,
            async () => {
              await sleep(Math.random() * 500);
              return marks.measure(() => boss.send('mark', {}));
            },
            2,
          );
        } finally {
          await boss.offWork({ id: worker });
        }
      },
      async close() {
        await Promise.allSettled([boss.stop({ graceful: false, wait: true, timeout: 2000 }), counter.end()]);
        await db.drop();
      },
    };
  },
};
