import type { IncomingHttpHeaders } from 'node:http';
import type { ApflowError } from '../errors/apflow-error.ts';
import type { TaskWait } from '../tasks/task-wait.ts';

/** Who is calling, as the `auth` hook decided. */
export interface Principal {
  /** Identity used for ownership checks (a JWT's `sub`). */
  user_id: string;
  /** Roles; `admin` means administrator. */
  roles: string[];
  /** Verified claims or other facts the auth plugin wants to pass on. */
  claims?: Record<string, unknown>;
}

/** One HTTP request or WebSocket message, as the `request` and `auth` hooks see it. */
export interface RequestContext {
  /** Request id, also in the logs. */
  id: string;
  /** `stdio`: a command's standard input (`apflow mcp`), whose user the command line names. */
  transport: 'http' | 'ws' | 'stdio';
  method: string;
  url: string;
  /** Matched route pattern (e.g. `/tasks/:id/status`), when one matched. */
  route?: string;
  headers: IncomingHttpHeaders;
  ip: string;
  /** Set by the kernel from the `auth` hook's answer. */
  principal?: Principal;
  /** Per-request scratch space for plugins (e.g. an LLM key read from a header). */
  state: Record<string, unknown>;
  /**
   * Set by a plugin when `state` holds something only this process has (a key from a header):
   * the runs this request starts are then pinned to this server (no other server claims their
   * tasks). The value says why, for the logs.
   */
  pin?: string;
}

/** The run of one task by one executor, as the `taskRun` waterfall sees it. */
export interface TaskRunContext {
  /** `before` runs ahead of the executor, `after` once it settled. */
  phase: 'before' | 'after';
  task_id: string;
  root_task_id: string;
  user_id: string | null;
  executor_id: string;
  inputs: Record<string, unknown>;
  /** Set `result` in `before` to skip the executor and use this value instead. */
  result?: unknown;
  error?: ApflowError;
  /** In `after` of a run that suspended (the task waits; no result, no error yet): what it waits for. */
  waiting?: TaskWait;
  /** Set in `before` to refuse the run; the task fails with this error. */
  refuse?: ApflowError;
  /** Per-run scratch space shared by the taps of one run. */
  state: Record<string, unknown>;
}

/**
 * An executor run that ended, as the `taskRan` hook tells it (a `SyncHook` for observers such as
 * metrics: cheaper per task than intercepting `taskRun`, which makes every run build its context
 * and pass the waterfall twice). Runs cut short by a cancel or a shutdown are not told.
 */
export interface TaskRan {
  task_id: string;
  root_task_id: string;
  user_id: string | null;
  executor_id: string;
  /** `suspended`: the run ended by waiting (a durable run), to resume later. */
  outcome: 'completed' | 'failed' | 'suspended';
  /** From the run's start (ahead of `taskRun`'s `before` phase) to its end. */
  seconds: number;
}

/**
 * A run of a tree about to begin (`phase: 'before'`) and whether it began (`'after'`), as the
 * `runStart` waterfall sees it: every way a run starts (JSON-RPC, A2A, MCP, schedules, the CLI)
 * passes here. Quotas and demo fallbacks tap it.
 */
export interface RunStartContext {
  phase: 'before' | 'after';
  /** The task asked to run (a root runs its whole tree). */
  task_id: string;
  root_task_id: string;
  /** The tree's owner. */
  user_id: string | null;
  /** The request that starts it, when one does (not a schedule's fire or a one-shot command). */
  request?: RequestContext;
  /** Set in `before` to run in demo mode (executors give their demo result). */
  demo: boolean;
  /** Set in `before` to refuse the run: `execute` throws it and nothing runs. */
  refuse?: ApflowError;
  /**
   * Set in `before` to refuse the run unless the tree is running already, as decided where the
   * run would begin (a start of a running tree begins nothing, and is answered as such).
   */
  refuseUnlessRunning?: ApflowError;
  /** In `after`: false when the tree was running already (no new run began). */
  begun?: boolean;
  /** Scratch space shared by the taps of one start. */
  state: Record<string, unknown>;
}

/** The kinds of task events (DESIGN.md §2). */
export type TaskEventType =
  'task_start' | 'progress' | 'task_waiting' | 'task_completed' | 'task_failed' | 'task_cancelled' | 'final';

/** One task event, the vocabulary of SSE, WebSocket and webhooks. */
export interface TaskEvent {
  type: TaskEventType;
  task_id: string;
  root_task_id: string;
  status: string;
  progress: number;
  message?: string;
  result?: unknown;
  error?: string;
  /** ISO-8601 time the event was made. */
  timestamp: string;
  /** Grows by one per event within a tree. */
  seq: number;
  /** On `task_waiting` events: what the task waits for (the prompt and schema of a question). */
  waiting?: TaskWait;
  /**
   * On `final` events only: the run's outcome, its tasks per status (those the run covered: the
   * whole tree when the root was executed, else the task executed and its dependencies). A root
   * `completed` with `failed > 0` ended with failed tasks under it.
   */
  counts?: TaskCounts;
}

/**
 * How many tasks there are per status, every key present: of a run in its `final` event, of a
 * whole tree in `tasks.get` of its root. `total` counts them all.
 */
export interface TaskCounts {
  total: number;
  completed: number;
  failed: number;
  cancelled: number;
  pending: number;
  in_progress: number;
  input_required: number;
}

/** A request for an LLM key, as the `keyResolve` hook sees it. */
export interface KeyRequest {
  /** `openai`, `anthropic`, `google`, `mistral`, `groq`, … (detected from the model when not given). */
  provider: string;
  model?: string;
  user_id: string | null;
  /** The task asking, when an executor asks. */
  task_id?: string;
  root_task_id?: string;
  /**
   * The plugin state of the request that created or started the tree (e.g. an LLM key from a
   * header), while this process holds it: undefined after a restart.
   */
  request_state?: Record<string, unknown>;
}
