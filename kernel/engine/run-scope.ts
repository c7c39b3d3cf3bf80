import type { Span } from '@opentelemetry/api';
import type { RegisteredExecutor } from '../executors/executor-table.ts';
import type { Hooks } from '../hooks/hooks.ts';
import type { Logger } from '../internal/logger.ts';
import type { Outbound } from '../outbound/outbound-policy.ts';
import type { TaskSecrets } from '../secrets/task-secrets.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import type { TaskSteps } from '../tasks/task-wait.ts';
import type { UsageRecorder } from '../usage/record-usage.ts';
import type { RunUsage } from '../usage/run-usage.ts';
import type { RunEnding } from './run-ending.ts';

/** What running tasks needs from the engine: one object per engine, shared by all its runs. */
export interface RunEngine {
  hooks(): Hooks;
  executor(id: string): RegisteredExecutor | undefined;
  executorIds(): string[];
  /** The state of the request that created or started the tree, while this process holds it. */
  requestState(rootId: string): Record<string, unknown> | undefined;
  /** The outbound policy executors reach the network through. */
  outbound: Outbound;
  /** Opens the task's sealed secret inputs for the run; seals a spawned task's. */
  secrets?: TaskSecrets;
  /** Stores the LLM calls executors report (`ctx.usage`). */
  usage?: UsageRecorder;
  /** The engine's lease owner id, named on executor spans. */
  server?: string;
  log: Logger;
  /** Progress an executor reports for its task (the run checks it still runs here). */
  progress(task: TaskRow, progress: number, message?: string): void;
  /** Stores a run's durable memory (guarded by its lease); rejects when the run lost its task. */
  save(task: TaskRow, steps: TaskSteps): Promise<void>;
  /** Reads tasks by id (the children a spawn added). */
  read(ids: readonly string[]): Promise<TaskRow[]>;
  readonly maxTreeSize: number;
}

/** One run of a task: what its executor's context and the code that runs it share. */
export interface RunScope {
  readonly engine: RunEngine;
  readonly task: TaskRow;
  readonly executorId: string;
  /** The hooks as they were when the run started. */
  readonly hooks: Hooks;
  readonly ending: RunEnding;
  /** The executor's span, when traced: it hears the progress. */
  readonly span: Span | undefined;
  /** The state of the request that created or started the tree (see {@link RunEngine.requestState}). */
  readonly requestState: Record<string, unknown> | undefined;
  /** The keys and secrets this run was given (made with the first): taken out of what it stores. */
  keys: Set<string> | undefined;
  /** Its LLM calls (made with the first report). */
  usage: RunUsage | undefined;
}
