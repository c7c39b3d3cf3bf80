import { ApflowError, TASK_STATUSES, Type, type TaskStatus } from 'apflow';

/** The most ids one call may name (as an array or as a comma-separated string). */
export const MAX_IDS = 1000;

const Id = Type.String({ minLength: 1, maxLength: 255 });
const Ids = Type.Union([Type.Array(Id, { maxItems: MAX_IDS }), Type.String({ minLength: 1 })]);
const Task = Type.Record(Type.String(), Type.Unknown());
/** The `idempotency_key` param of the methods that run once per key (see idempotent.ts). */
const IdempotencyKey = Type.Optional(
  Type.String({
    minLength: 1,
    maxLength: 255,
    description:
      'Runs the call once: a retry with the same key (this param or the Idempotency-Key header) from the same user within 24 h gets the first answer',
  }),
);

/** A task id given as `task_id` or (some methods) `id` / `root_id`. */
export const TaskIdParams = Type.Object({ task_id: Type.Optional(Id), id: Type.Optional(Id) });
export const DetailParams = Type.Object({ task_id: Id });
export const TreeParams = Type.Object({ task_id: Type.Optional(Id), root_id: Type.Optional(Id) });
export const ChildrenParams = Type.Object({ parent_id: Type.Optional(Id), task_id: Type.Optional(Id) });

// Built from the one list of states; Unsafe gives it their static type (a mapped array is no tuple).
const Status = Type.Unsafe<TaskStatus>(Type.Union(TASK_STATUSES.map((status) => Type.Literal(status))));

export const ListParams = Type.Object({
  user_id: Type.Optional(Id),
  status: Type.Optional(Status),
  root_only: Type.Optional(Type.Boolean()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const CountParams = Type.Object({ user_id: Type.Optional(Id), root_only: Type.Optional(Type.Boolean()) });

const Day = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}',
  description: 'A day (YYYY-MM-DD, UTC) or an ISO-8601 time (its UTC day counts)',
});

/** tasks.usage: whose days (default: your own; an administrator's default is everyone), from (default: 30 days before `until`) and to which day. */
export const UsageParams = Type.Object({
  user_id: Type.Optional(Id),
  since: Type.Optional(Day),
  until: Type.Optional(Day),
});

/** tasks.create: the tasks array, `{tasks: [...]}` (the guide), or one task object. */
export const CreateParams = Type.Union([
  Type.Array(Task),
  Type.Object({ tasks: Type.Array(Task), idempotency_key: IdempotencyKey }),
  Task,
]);

export const UpdateParams = Type.Object({ task_id: Id }, { additionalProperties: true });

export const CopyParams = Type.Object({
  task_id: Id,
  children: Type.Optional(Type.Boolean()),
  copy_mode: Type.Optional(Type.String()),
  custom_task_ids: Type.Optional(Ids),
  custom_include_children: Type.Optional(Type.Boolean()),
  reset_fields: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Record(Type.String(), Type.Unknown())])),
  save: Type.Optional(Type.Boolean()),
  /** Copies that run again keep their originals' answers to `ctx.askInput` (default false: asked again). */
  keep_answers: Type.Optional(Type.Boolean()),
  /** The copy's owner (administrators: anyone, or null for nobody; users: themselves). Default: the caller. */
  user_id: Type.Optional(Type.Union([Id, Type.Null()])),
});

export const ExecuteParams = Type.Object({
  task_id: Type.Optional(Id),
  tasks: Type.Optional(Type.Array(Task)),
  use_streaming: Type.Optional(Type.Boolean()),
  webhook_config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  copy_execution: Type.Optional(Type.Boolean()),
  copy_children: Type.Optional(Type.Boolean()),
  use_demo: Type.Optional(Type.Boolean()),
  idempotency_key: IdempotencyKey,
});

export const GenerateParams = Type.Object({
  requirement: Type.Optional(Type.String({ maxLength: 100_000 })),
  user_id: Type.Optional(Type.String({ maxLength: 255 })),
  llm_provider: Type.Optional(Type.String({ maxLength: 64 })),
  model: Type.Optional(Type.String({ maxLength: 255 })),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
  max_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
  save: Type.Optional(Type.Boolean()),
});

export const CancelParams = Type.Object({
  task_ids: Type.Optional(Ids),
  context_ids: Type.Optional(Ids),
  force: Type.Optional(Type.Boolean()),
  error_message: Type.Optional(Type.String({ maxLength: 10_000 })),
});

export const RunningListParams = Type.Object({
  user_id: Type.Optional(Id),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
export const RunningStatusParams = Type.Object({ task_ids: Type.Optional(Ids), context_ids: Type.Optional(Ids) });
export const RunningCountParams = Type.Object({ user_id: Type.Optional(Id) });

/** Params of tasks.resume. */
export const ResumeParams = Type.Object({
  task_id: Id,
  input: Type.Optional(Type.Unknown()),
});

export const ExecuteTreeParams = Type.Object({
  tasks: Type.Array(Task, { minItems: 1 }),
  use_streaming: Type.Optional(Type.Boolean()),
  idempotency_key: IdempotencyKey,
});

/**
 * Ids given as an array or as a comma-separated string. A string is held to the same cap as an
 * array ({@link MAX_IDS}), with the same error; `method` and `field` name the param in it.
 */
export function idList(value: string | string[] | undefined, method: string, field: string): string[] {
  if (value === undefined) return [];
  const ids = (Array.isArray(value) ? value : value.split(',')).map((id) => id.trim()).filter(Boolean);
  if (ids.length > MAX_IDS) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `Invalid params for ${method}:\n- params.${field}: must not have more than ${MAX_IDS} items`,
    });
  }
  return ids;
}

/** A question a task of the run waits on, as a blocking call answers it. */
export interface OpenQuestion {
  task_id: string;
  prompt: string;
  schema?: Record<string, unknown>;
  timeout_at?: string;
}
