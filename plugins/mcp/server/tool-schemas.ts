import { TASK_STATUSES, Type, type TSchema } from 'apflow';

const TaskId = Type.String({
  minLength: 1,
  maxLength: 255,
  description: 'The id of a task (a root id names its whole tree)',
});
const Status = Type.Union(
  TASK_STATUSES.map((status) => Type.Literal(status)),
  {
    description: 'Only tasks in this state',
  },
);

/**
 * One task to create, as in `tasks.create`: `name` and `schemas.method` (the executor) are the
 * least a task needs; `parent_id` and `dependencies` link it to the others in the same array.
 */
const TaskSpec = Type.Object(
  {
    id: Type.Optional(Type.String({ description: 'Your id for the task (a fresh one is made if taken or absent)' })),
    name: Type.String({ description: 'A short name' }),
    parent_id: Type.Optional(Type.String({ description: 'The id of its parent, in this array' })),
    schemas: Type.Optional(
      Type.Object(
        { method: Type.String({ description: 'The executor id (see list_executors)' }) },
        { additionalProperties: true },
      ),
    ),
    inputs: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: "The executor's inputs" })),
    dependencies: Type.Optional(
      Type.Array(Type.Unknown(), { description: 'Ids (or {id, required}) of tasks that must finish first' }),
    ),
  },
  { additionalProperties: true },
);
const Tasks = Type.Array(TaskSpec, {
  minItems: 1,
  description: 'The tasks of one tree: exactly one without parent_id (the root)',
});

const object = (properties: Record<string, TSchema>, required: string[] = []) =>
  Type.Object(
    Object.fromEntries(
      Object.entries(properties).map(([key, schema]) => [key, required.includes(key) ? schema : Type.Optional(schema)]),
    ),
    { additionalProperties: false },
  );

/** The input schema of each tool (JSON Schema, checked before the tool runs). */
export const toolSchemas = {
  execute_task: object({
    task_id: TaskId,
    tasks: Tasks,
    wait: Type.Boolean({
      description:
        'Wait for the run to end and answer its outcome (default true); false answers at once with the root id to watch',
    }),
    copy_execution: Type.Boolean({ description: 'Run a copy of the stored task instead of the task itself' }),
    use_demo: Type.Boolean({ description: 'Executors give their demo result instead of doing the work' }),
  }),
  create_task: object({ tasks: Tasks }, ['tasks']),
  get_task: object({ task_id: TaskId }, ['task_id']),
  get_task_tree: object({ task_id: TaskId }, ['task_id']),
  list_tasks: object({
    status: Status,
    user_id: Type.String({ description: "Only this user's tasks (administrators; others see only their own)" }),
    root_only: Type.Boolean({ description: 'Only roots of trees (default true)' }),
    limit: Type.Integer({ minimum: 1, maximum: 1000, description: 'At most this many (default 100)' }),
    offset: Type.Integer({ minimum: 0, description: 'Skip this many' }),
  }),
  get_task_status: object({ task_id: TaskId }, ['task_id']),
  cancel_task: object(
    {
      task_id: TaskId,
      force: Type.Boolean({ description: 'Cancel at once, without waiting for running executors' }),
      message: Type.String({ maxLength: 10_000, description: 'The reason, stored on the cancelled tasks' }),
    },
    ['task_id'],
  ),
  copy_task: object(
    {
      task_id: TaskId,
      children: Type.Boolean({ description: 'Copy its children too' }),
      copy_mode: Type.Union([Type.Literal('minimal'), Type.Literal('full')], {
        description: 'minimal (the task, what it depends on, and its dependents) or full (its whole tree)',
      }),
    },
    ['task_id'],
  ),
  delete_task: object({ task_id: TaskId }, ['task_id']),
  update_task: Type.Object(
    {
      task_id: TaskId,
      name: Type.Optional(Type.String()),
      inputs: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      schemas: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      dependencies: Type.Optional(Type.Array(Type.Unknown())),
      priority: Type.Optional(Type.Integer()),
    },
    {
      additionalProperties: true,
      description: 'Fields to change on a task that is not running (the tasks API decides which may change)',
    },
  ),
  list_executors: object({}),
} satisfies Record<string, TSchema>;

/** A tool's name. */
export type ToolName = keyof typeof toolSchemas;
