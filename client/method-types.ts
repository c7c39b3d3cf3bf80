import type { Static, TSchema } from 'typebox';
import type {
  CancelResult,
  CopyResult,
  HealthReport,
  ResumeAnswer,
  TaskCounts,
  TaskJson,
  TaskTreeJson,
  UsageDay,
} from 'apflow';
import type * as TasksApi from '../plugins/tasks-api/params.ts';
import type { OpenQuestion } from '../plugins/tasks-api/params.ts';
import type * as Schedules from '../plugins/schedules/schedule-params.ts';
import type { fireJson, ScheduleJson } from '../plugins/schedules/schedule-json.ts';
import type { FireOutcome } from '../plugins/schedules/schedule-row.ts';
import type * as Quotas from '../plugins/quotas/status-params.ts';

// Params are the static types of the TypeBox schemas the server checks them with (one source of
// truth); results are what the handlers answer. Only files that import nothing but `apflow` are
// named here: a type-check of the client alone (a user's project, the docs) must not pull the
// plugins' module augmentations in.

type P<S extends TSchema> = Static<S>;
/** One fire of a schedule, with its run's state. */
type FireJson = ReturnType<typeof fireJson>;
/** What firing a schedule now answers. */
type Fired = FireOutcome & { schedule_id: string; fire_at: string; kind: string };
/** A method that takes no params. */
type NoParams = Record<string, never> | undefined;

/** A task as `tasks.get` answers it: a root also carries its tree's tasks per status. */
export type TaskWithCounts = TaskJson & { counts?: TaskCounts };

export type { OpenQuestion };

/** The fields `tasks.update` changes (the server checks each: docs/api.md). */
export type TaskChanges = Partial<
  Pick<
    TaskJson,
    'name' | 'status' | 'progress' | 'error' | 'result' | 'priority' | 'inputs' | 'params' | 'schemas' | 'dependencies'
  >
>;

/** How a run ended, or the questions it stopped at (`status: 'input_required'`, `waiting`). */
export interface RunAnswer {
  root_task_id: string;
  status: string;
  progress: number;
  result?: unknown;
  error?: string;
  /** When tasks wait for input (`status: 'input_required'`): the open questions. */
  waiting?: OpenQuestion[];
}

/** The answer of a blocking `tasks.execute`. */
export interface ExecuteAnswer extends RunAnswer {
  success: boolean;
  protocol?: 'jsonrpc';
  task_id?: string;
  message?: string;
  /** When a user ran an ownerless tree (an example): the tree asked for; `root_task_id` is their copy. */
  original_task_id?: string;
  webhook_url?: string;
}

/** The first message of a streamed execute: the run began (its events follow). */
export interface ExecuteStarted {
  success?: boolean;
  protocol?: 'jsonrpc';
  root_task_id: string;
  task_id: string;
  status: 'started';
  streaming: true;
  message: string;
  original_task_id?: string;
  webhook_url?: string;
  /** The seq this run's events follow: `follow(root_task_id, {lastEventId})` gets exactly them. */
  last_event_id?: number;
}

/** One executor as `system.executors` lists it. */
export interface ExecutorInfo {
  id: string;
  name: string;
  description: string;
  /** JSON Schema of its inputs, or null when unchecked. */
  input_schema: unknown;
  source: string;
  loaded_at: string;
}

/**
 * Every JSON-RPC method of `/tasks`, `/system` and `POST /` (execute_task_tree) a server with the
 * built-in plugins answers: its params and its result.
 */
export interface ApflowMethods {
  'tasks.create': { params: P<typeof TasksApi.CreateParams>; result: TaskTreeJson };
  'tasks.get': { params: P<typeof TasksApi.TaskIdParams>; result: TaskWithCounts | null };
  'tasks.detail': { params: P<typeof TasksApi.DetailParams>; result: TaskWithCounts | null };
  'tasks.tree': { params: P<typeof TasksApi.TreeParams>; result: TaskTreeJson };
  'tasks.list': { params: P<typeof TasksApi.ListParams>; result: TaskJson[] };
  'tasks.children': { params: P<typeof TasksApi.ChildrenParams>; result: TaskJson[] };
  'tasks.count': {
    params: P<typeof TasksApi.CountParams>;
    result: Omit<TaskCounts, 'total'> & { total: number; user_id?: string };
  };
  'tasks.usage': { params: P<typeof TasksApi.UsageParams>; result: UsageDay[] };
  'quotas.status': { params: P<typeof Quotas.StatusParams>; result: Quotas.QuotaStatus };
  'tasks.update': { params: P<typeof TasksApi.UpdateParams> & TaskChanges; result: TaskJson };
  'tasks.delete': {
    params: P<typeof TasksApi.TaskIdParams>;
    result: { success: true; task_id: string; deleted_count: number; children_deleted: number };
  };
  'tasks.copy': { params: P<typeof TasksApi.CopyParams>; result: CopyResult };
  'tasks.execute': { params: P<typeof TasksApi.ExecuteParams>; result: ExecuteAnswer };
  'tasks.resume': { params: P<typeof TasksApi.ResumeParams>; result: ResumeAnswer };
  'tasks.generate': {
    params: P<typeof TasksApi.GenerateParams>;
    result: { tasks: Record<string, unknown>[]; count: number; message: string; root_task_id?: string };
  };
  'tasks.cancel': { params: P<typeof TasksApi.CancelParams>; result: (CancelResult & { force: boolean })[] };
  'tasks.running.cancel': { params: P<typeof TasksApi.CancelParams>; result: (CancelResult & { force: boolean })[] };
  'tasks.running.list': { params: P<typeof TasksApi.RunningListParams>; result: TaskJson[] };
  'tasks.running.status': {
    params: P<typeof TasksApi.RunningStatusParams>;
    result: {
      task_id: string;
      context_id: string;
      status: string;
      progress?: number;
      error?: string | null;
      is_running?: boolean;
      started_at?: string | null;
      updated_at?: string;
    }[];
  };
  'tasks.running.count': { params: P<typeof TasksApi.RunningCountParams>; result: { count: number; user_id?: string } };
  'schedules.create': { params: P<typeof Schedules.CreateParams>; result: ScheduleJson & { webhook_secret?: string } };
  'schedules.get': {
    params: P<typeof Schedules.IdParams>;
    result: ScheduleJson & { upcoming: string[]; recent_runs: FireJson[] };
  };
  'schedules.list': { params: P<typeof Schedules.ListParams>; result: ScheduleJson[] };
  'schedules.update': { params: P<typeof Schedules.UpdateParams>; result: ScheduleJson & { webhook_secret?: string } };
  'schedules.delete': { params: P<typeof Schedules.IdParams>; result: { id: string; deleted: true } };
  'schedules.pause': { params: P<typeof Schedules.IdParams>; result: ScheduleJson };
  'schedules.resume': { params: P<typeof Schedules.IdParams>; result: ScheduleJson };
  'schedules.trigger': { params: P<typeof Schedules.TriggerParams>; result: Fired };
  'schedules.preview': { params: P<typeof Schedules.PreviewParams>; result: { fires: string[] } };
  'schedules.runs': { params: P<typeof Schedules.RunsParams>; result: FireJson[] };
  'tasks.scheduled.list': { params: P<typeof Schedules.ListParams>; result: ScheduleJson[] };
  'tasks.scheduled.due': { params: P<typeof Schedules.DueParams>; result: ScheduleJson[] };
  'tasks.webhook.trigger': { params: P<typeof Schedules.TriggerParams>; result: Fired };
  'system.health': {
    params: NoParams;
    result: HealthReport & { message: string; timestamp: string; running_tasks_count: number };
  };
  'system.executors': { params: NoParams; result: { executors: ExecutorInfo[]; count: number } };
  execute_task_tree: { params: P<typeof TasksApi.ExecuteTreeParams>; result: RunAnswer };
}

/** A method's name. */
export type MethodName = keyof ApflowMethods;
/** What a method takes. */
export type ParamsOf<M extends MethodName> = ApflowMethods[M]['params'];
/** What a method answers. */
export type ResultOf<M extends MethodName> = ApflowMethods[M]['result'];
