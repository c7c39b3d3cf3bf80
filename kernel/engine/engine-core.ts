import type { RegisteredExecutor } from '../executors/executor-table.ts';
import type { Hooks } from '../hooks/hooks.ts';
import type { Logger } from '../internal/logger.ts';
import type { Outbound } from '../outbound/outbound-policy.ts';
import type { UsageRecorder } from '../usage/record-usage.ts';
import type { TaskSecrets } from '../secrets/task-secrets.ts';
import type { Sql } from '../storage/sql.ts';
import type { createRequestScopes } from './request-scopes.ts';
import type { RunMemory } from './run-memory.ts';
import type { SignalBus } from './signal-bus.ts';
import type { ShapeCache } from './tree-shape.ts';
import type { Transact } from './transactor.ts';

/** Engine settings (config `engine.*`). */
export interface EngineSettings {
  concurrency: number;
  per_user_concurrency?: number;
  cluster_concurrency?: number;
  default_timeout_s?: number;
  lease_s: number;
  max_tree_size: number;
  /** How long task events are kept for streams to resume from. */
  event_retention_s: number;
}

/**
 * What the engine is doing: `idle` before `start`; a `server` claims any ready task and sweeps;
 * a one-shot `command` claims only the runs it began (pinned to it); `closing` claims nothing.
 */
export type EngineMode = 'idle' | 'server' | 'command' | 'closing';

/**
 * The parts of one engine every module of it works with, built once by createTaskEngine and
 * passed as one object (no module reaches into another's closures).
 */
export interface EngineCore {
  /** This engine's id: the owner of its leases and of the runs pinned to it. */
  readonly owner: string;
  readonly settings: EngineSettings;
  readonly sql: Sql;
  /** Runs one write transaction over trees, then signals and announces what it committed. */
  readonly transact: Transact;
  /** How engines wake each other (LISTEN/NOTIFY, or the cluster relay). */
  readonly signals: SignalBus;
  /** Shapes of recent runs (a run's shape never changes while it runs). */
  readonly shapes: ShapeCache;
  /** What this engine remembers of the runs it began. */
  readonly memory: RunMemory;
  /** The plugin state of the requests that created or began trees, in memory only. */
  readonly scopes: ReturnType<typeof createRequestScopes>;
  readonly hooks: () => Hooks;
  readonly executors: { get(id: string): RegisteredExecutor | undefined; ids(): string[] };
  /** The outbound policy executors reach the network through. */
  readonly outbound: Outbound;
  /** Seals and opens tasks' secret inputs. */
  readonly secrets?: TaskSecrets;
  /** Stores the LLM calls executors report. */
  readonly usage?: UsageRecorder;
  readonly log: Logger;
  mode: EngineMode;
}

/** A lease expiry `lease_s` from now (ISO). */
export const leaseUntil = (core: EngineCore) => new Date(Date.now() + core.settings.lease_s * 1000).toISOString();
