// BullMQ in the `peers` scenario: one Worker (concurrency 64, apflow's default) on a local Redis,
// queues under a key prefix of the measurement's own, flushed when it closes. Completion is heard
// from the Worker's 'completed' event (no QueueEvents: a Redis stream reader, bullmq#268). Redis's
// `appendfsync` is set to the mode the pair needs before each set-up (peers-redis.ts).
import { randomBytes } from 'node:crypto';
import { FlowProducer, Queue, Worker, type Job } from 'bullmq';
import {
  CONCURRENCY,
  createMarks,
  sampleDelays,
  flushPrefix,
  redisOptions,
  redisProblem,
  within,
  type Peer,
  type PeerSession,
} from './peers-common.ts';
import { redisDurability, setAppendfsync, type Appendfsync } from './peers-redis.ts';

/** BullMQ 5 on Redis at `appendfsync` `mode`: a FlowProducer flow for the tree, Queue.addBulk for independent jobs. */
export const bullmqPeer = (mode: Appendfsync): Peer => ({
  key: `bullmq_${mode}`,
  label: `BullMQ (Redis, appendfsync ${mode})`,
  problem: redisProblem,
  async setUp(): Promise<PeerSession> {
    await setAppendfsync(mode);
    const prefix = `apflow-bench-peers-${randomBytes(4).toString('hex')}`;
    const connection = redisOptions();
    const marks = createMarks();
    /** Resolvers waiting for a job id to complete (the flows' parents). */
    const waiting = new Map<string, () => void>();
    let completed = 0;
    const worker = new Worker(
      'peers',
      async (job: Job) => {
        if (job.name === 'mark') marks.hit();
        return { ok: true };
      },
      { connection, prefix, concurrency: CONCURRENCY },
    );
    worker.on('completed', (job: Job) => {
      completed++;
      const resolve = job.id === undefined ? undefined : waiting.get(job.id);
      if (resolve) {
        waiting.delete(job.id as string);
        resolve();
      }
    });
    worker.on('error', () => undefined); // a round that breaks fails on its own deadline
    const queue = new Queue('peers', { connection, prefix });
    const flows = new FlowProducer({ connection, prefix });
    await within(10_000, 'BullMQ worker ready', worker.waitUntilReady());
    let round = 0;

    const tree = async (children: number) => {
      const tag = `${round++}`;
      const parentId = `parent-${tag}`;
      const finished = new Promise<void>((resolve) => waiting.set(parentId, resolve));
      const start = performance.now();
      await flows.add({
        name: 'parent',
        queueName: 'peers',
        opts: { jobId: parentId },
        children: Array.from({ length: children }, (_, i) => ({
          name: 'noop',
          queueName: 'peers',
          data: { i },
          opts: { jobId: `c-${tag}-${i}` },
        })),
      });
      await within(120_000, 'BullMQ flow', finished);
      return performance.now() - start;
    };
    const jobs = async (count: number) => {
      const target = completed + count;
      const finished = new Promise<void>((resolve) => {
        const check = () => {
          if (completed < target) return;
          worker.off('completed', check);
          resolve();
        };
        worker.on('completed', check);
      });
      const start = performance.now();
      // addBulk in slices: one MULTI of 10,000 jobs would be one huge Redis command.
      for (let i = 0; i < count; i += 1000)
        await queue.addBulk(
          Array.from({ length: Math.min(1000, count - i) }, (_, k) => ({ name: 'noop', data: { i: i + k } })),
        );
      await within(120_000, 'BullMQ jobs', finished);
      return performance.now() - start;
    };
    return {
      tree,
      jobs,
      latency: (samples) => sampleDelays(samples, () => marks.measure(() => queue.add('mark', {}))),
      durability: redisDurability,
      async close() {
        await Promise.allSettled([worker.close(true), queue.close(), flows.close()]);
        await flushPrefix(prefix);
      },
    };
  },
});
