// What the `peers` scenario measures, in which order, and the ratios it reports (issues 11, 27).
// Each figure is taken on a system set up for it alone (a fresh database or Redis key prefix) and
// closed after it, so nothing else of the bench runs meanwhile. The members of a pair are measured
// back to back: the pairs at equal durability (issue 27) are
//   apflow SQLite synchronous=normal  vs  BullMQ, Redis appendfsync everysec
//   apflow SQLite synchronous=full    vs  BullMQ, Redis appendfsync always
//   apflow PostgreSQL (fsync on, synchronous_commit on)  vs  BullMQ, appendfsync always
//                                                        vs  pg-boss, graphile-worker (same server)
// and the PostgreSQL tree beside the machine's reference: apflow's own statements replayed bare
// (peers-bare-pg.ts), which says how much of that tree's time is the database's.
import { apflowPeer } from './peers-apflow.ts';
import { barePgPeer } from './peers-bare-pg.ts';
import { bullmqPeer } from './peers-bullmq.ts';
import type { Peer } from './peers-common.ts';
import { graphilePeer } from './peers-graphile.ts';
import { pgbossPeer } from './peers-pgboss.ts';

/** The three workloads: a 10,000-task tree, independent jobs, enqueue→start latency. */
export type Kind = 'tree' | 'jobs' | 'latency';
export const kinds: readonly Kind[] = ['tree', 'jobs', 'latency'];

/** Every system, by the key its figures are named with. */
export const systems: readonly Peer[] = [
  apflowPeer('sqlite_normal'),
  apflowPeer('sqlite_full'),
  apflowPeer('postgres'),
  bullmqPeer('everysec'),
  bullmqPeer('always'),
  pgbossPeer,
  graphilePeer,
  barePgPeer,
];

/**
 * Per workload, blocks of systems measured back to back. A system compared with two others sits
 * between them (BullMQ `always` between SQLite `full` and PostgreSQL, apflow PostgreSQL between
 * pg-boss and graphile-worker), so that each pair is adjacent whichever way the block runs.
 */
const phases: readonly [Kind, readonly (readonly string[])[]][] = [
  [
    'tree',
    [
      ['apflow_sqlite_normal', 'bullmq_everysec'],
      ['apflow_sqlite_full', 'bullmq_always', 'apflow_pg', 'bare_pg'],
    ],
  ],
  [
    'jobs',
    [
      ['pgboss', 'apflow_pg', 'graphile'],
      ['apflow_sqlite_normal', 'bullmq_everysec'],
      ['apflow_sqlite_full', 'bullmq_always'],
    ],
  ],
  [
    'latency',
    [
      ['apflow_sqlite_full', 'graphile', 'apflow_pg'],
      ['apflow_sqlite_normal', 'bullmq_everysec'],
      ['bullmq_always', 'pgboss'],
    ],
  ],
];

/**
 * The measurements of round `round` (0-based), in order: the workloads in turn; within each, its
 * blocks rotated by the round, and each block run backwards in odd rounds (so the side of a pair
 * that goes first alternates). Only systems in `keys` and workloads in `only`.
 */
export function roundOrder(round: number, keys: ReadonlySet<string>, only: ReadonlySet<Kind>): [Kind, string][] {
  const order: [Kind, string][] = [];
  for (const [kind, blocks] of phases) {
    if (!only.has(kind)) continue;
    for (let b = 0; b < blocks.length; b++) {
      const block = blocks[(b + round) % blocks.length] as readonly string[];
      const run = round % 2 ? [...block].reverse() : block;
      for (const key of run) if (keys.has(key)) order.push([kind, key]);
    }
  }
  return order;
}

/** The figure a workload gives per system (tasks/s, jobs/s: higher is better; p50: lower). */
export const figureOf: Record<Kind, string> = { tree: 'tree_tasks_per_s', jobs: 'jobs_per_s', latency: 'p50_ms' };

/** A ratio reported: `top`'s figure over `bottom`'s, both from the same round. */
export interface Ratio {
  figure: string;
  kind: Kind;
  top: string;
  bottom: string;
}

const ratio = (figure: string, kind: Kind, top: string, bottom: string): Ratio => ({ figure, kind, top, bottom });

/** The ratios, each computed per round from that round's pair, and their median over the rounds. */
export const ratios: readonly Ratio[] = [
  ratio('tree_sqlite_normal_vs_bullmq_everysec', 'tree', 'apflow_sqlite_normal', 'bullmq_everysec'),
  ratio('tree_sqlite_full_vs_bullmq_always', 'tree', 'apflow_sqlite_full', 'bullmq_always'),
  ratio('tree_pg_vs_bullmq_always', 'tree', 'apflow_pg', 'bullmq_always'),
  ratio('tree_pg_vs_bare_statements', 'tree', 'apflow_pg', 'bare_pg'),
  ratio('jobs_pg_vs_pgboss', 'jobs', 'apflow_pg', 'pgboss'),
  ratio('jobs_pg_vs_graphile', 'jobs', 'apflow_pg', 'graphile'),
  ratio('jobs_pg_vs_bullmq_always', 'jobs', 'apflow_pg', 'bullmq_always'),
  ratio('jobs_sqlite_normal_vs_bullmq_everysec', 'jobs', 'apflow_sqlite_normal', 'bullmq_everysec'),
  ratio('jobs_sqlite_full_vs_bullmq_always', 'jobs', 'apflow_sqlite_full', 'bullmq_always'),
  // Latency: apflow's p50 over graphile-worker's (≤ 1 is as fast or faster).
  ratio('latency_p50_pg_vs_graphile', 'latency', 'apflow_pg', 'graphile'),
  ratio('latency_p50_sqlite_full_vs_graphile', 'latency', 'apflow_sqlite_full', 'graphile'),
  ratio('latency_p50_sqlite_normal_vs_graphile', 'latency', 'apflow_sqlite_normal', 'graphile'),
];

/**
 * The systems PEERS_ONLY selects: a name selects the system of that key and every one whose key
 * starts with it and `_` (`apflow_sqlite`: both SQLite settings; `bullmq`: both Redis modes).
 */
export function selectSystems(only: readonly string[] | undefined): Peer[] {
  if (!only) return [...systems];
  return systems.filter((peer) => only.some((name) => peer.key === name || peer.key.startsWith(`${name}_`)));
}
