// The machine's reference for the PostgreSQL tree (issue 27): apflow's own durable writes for a
// tree, replayed. Each measured tree is first run by apflow on a database of its own while every
// statement its connections send is recorded (pg's Client.query, wrapped for that run only); then
// the writes are sent again, in the order they committed, from one plain node-postgres client to a
// second database of the same schema (migrated by apflow), at the same durability, and only that
// replay is timed. What is replayed: each transaction whole (BEGIN with its planner settings, the
// root locks, the ends, the probes, the claims, the events, COMMIT), and the writes that commit by
// themselves (the tree's insert; a lease renewal or heartbeat made meanwhile). Left out: reads outside a transaction (the API's, the heartbeat's)
// and everything apflow does in JavaScript — executors, events' contents, hooks, streams, and the
// waits between its statements. The statements are apflow's own, texts and values, so the
// reference cannot drift from the engine; a ratio to it says how much of apflow's time is not the
// database's work.
import pg from 'pg';
import { createApp } from 'apflow';
import { apflowPeer } from './peers-apflow.ts';
import { postgresDurability, quiet, type Peer, type PeerSession } from './peers-common.ts';
import { createPostgresDatabase, postgresProblem } from './scale-out-servers.ts';

/** A statement as node-postgres was asked to send it: simple (text only) or extended (named when prepared). */
interface Sent {
  text: string;
  values?: unknown[];
  name?: string;
}

/** The bare reference: only a tree (the other workloads have peers of their own). */
export const barePgPeer: Peer = {
  key: 'bare_pg',
  label: "bare: apflow's statements replayed, no engine",
  problem: () => postgresProblem(),
  async setUp(): Promise<PeerSession> {
    const recorder = await apflowPeer('postgres').setUp();
    const run = recorder.tree;
    if (!run) {
      await recorder.close();
      throw new Error("apflow's session runs no tree");
    }
    const db = await createPostgresDatabase();
    const client = new pg.Client({ connectionString: db.url });
    const close = async () => {
      await client.end().catch(() => undefined);
      await db.drop();
      await recorder.close();
    };
    try {
      const inline = { database: { url: db.url }, log: { level: 'warn' as const }, examples: { auto_init: false } };
      await (await createApp({ env: {}, logStream: quiet(), inline })).close();
      await client.connect();
      await client.query('SET synchronous_commit = on');
    } catch (error) {
      await close();
      throw error;
    }
    return {
      async tree(children) {
        const units = await record(client, () => run(children));
        const start = performance.now();
        for (const unit of units) for (const sent of unit) await client.query(sent);
        const ms = performance.now() - start;
        // The replay did the tree's work: every task it stored ended as apflow's run ended them.
        const { rows } = await client.query("SELECT COUNT(*) AS n FROM apflow_tasks WHERE status <> 'completed'");
        if (Number(rows[0]?.n) !== 0) throw new Error(`the replay left ${rows[0]?.n} tasks not completed`);
        return ms;
      },
      durability: () => postgresDurability(client),
      close,
    };
  },
};

type Query = (this: pg.Client, ...args: unknown[]) => unknown;

/**
 * Runs `work` with every statement of every pg client but `replay` recorded; returns the writes in
 * the order they committed: each transaction as one unit at its COMMIT (a rolled-back one is
 * dropped), each write outside a transaction as a unit of its own.
 */
async function record(replay: pg.Client, work: () => Promise<unknown>): Promise<Sent[][]> {
  const units: Sent[][] = [];
  const open = new Map<pg.Client, Sent[]>();
  const prototype = pg.Client.prototype as unknown as { query: Query };
  const original = prototype.query;
  prototype.query = function (this: pg.Client, ...args: unknown[]) {
    if (this !== replay) note(this, sentOf(args[0], args[1]));
    return original.apply(this, args);
  };
  const note = (client: pg.Client, sent: Sent | undefined) => {
    if (!sent) return;
    const command = /^\s*(\w+)/.exec(sent.text)?.[1]?.toUpperCase();
    const unit = open.get(client);
    if (command === 'BEGIN') open.set(client, [sent]);
    else if (unit && command === 'ROLLBACK') open.delete(client);
    else if (unit) {
      unit.push(sent);
      if (command === 'COMMIT') {
        units.push(unit);
        open.delete(client);
      }
    } else if (command && ['INSERT', 'UPDATE', 'DELETE', 'WITH'].includes(command)) units.push([sent]);
  };
  try {
    await work();
  } finally {
    prototype.query = original;
  }
  return units;
}

/** What a `query(config | text, values)` call asks to send; undefined for what is not a statement. */
function sentOf(config: unknown, values: unknown): Sent | undefined {
  if (typeof config === 'string') return Array.isArray(values) ? { text: config, values } : { text: config };
  if (typeof config !== 'object' || config === null || typeof (config as Sent).text !== 'string') return undefined;
  const { text, values: own, name } = config as Sent;
  return { text, ...(own ? { values: own } : Array.isArray(values) ? { values } : {}), ...(name ? { name } : {}) };
}
