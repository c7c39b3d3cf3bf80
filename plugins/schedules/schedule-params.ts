import { Type, type Static } from 'apflow';

const Id = Type.String({ minLength: 1, maxLength: 64 });
const Time = Type.String({ minLength: 1, maxLength: 64, description: 'An ISO-8601 time, e.g. 2026-12-24T09:00:00Z' });
const Fields = {
  name: Type.String({ minLength: 1, maxLength: 255 }),
  /** A template stored with the schedule: a tasks array as tasks.create takes it. */
  tasks: Type.Array(Type.Record(Type.String(), Type.Unknown()), { minItems: 1 }),
  /** A template that is an existing tree: its root (or any task of it) by id, copied at each fire. */
  template_task_id: Type.String({ minLength: 1, maxLength: 255 }),
  cron: Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()]),
  timezone: Type.String({ minLength: 1, maxLength: 64 }),
  interval_s: Type.Union([Type.Integer({ minimum: 1, maximum: 31_622_400 }), Type.Null()]),
  at: Type.Union([Time, Type.Null()]),
  overlap: Type.Union([Type.Literal('skip'), Type.Literal('allow'), Type.Literal('cancel_previous')]),
  catch_up: Type.Union([Type.Literal('none'), Type.Literal('one'), Type.Literal('all')]),
  catch_up_max: Type.Integer({ minimum: 1, maximum: 1000 }),
  inputs: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  enabled: Type.Boolean(),
  max_runs: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  starts_at: Type.Union([Time, Type.Null()]),
  ends_at: Type.Union([Time, Type.Null()]),
  webhook: Type.Boolean(),
  user_id: Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()]),
};
// The cast names the object Object.fromEntries builds: each key's schema made optional.
const optional = <K extends keyof typeof Fields>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((key) => [key, Type.Optional(Fields[key])])) as {
    [P in K]: ReturnType<typeof Type.Optional<(typeof Fields)[P]>>;
  };
const SETTABLE = [
  'tasks',
  'template_task_id',
  'cron',
  'timezone',
  'interval_s',
  'at',
  'overlap',
  'catch_up',
  'catch_up_max',
  'inputs',
  'enabled',
  'max_runs',
  'starts_at',
  'ends_at',
  'webhook',
  'user_id',
] as const;

/** `schedules.create`. */
export const CreateParams = Type.Object({ name: Fields.name, ...optional(SETTABLE) }, { additionalProperties: false });
/** `schedules.update`: the id, and any field of create to change. */
export const UpdateParams = Type.Object(
  { id: Id, ...optional(['name', ...SETTABLE]) },
  { additionalProperties: false },
);
/** The methods that take one schedule. */
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });
/** `schedules.trigger`: fire now, with inputs merged into the root's over the schedule's. */
export const TriggerParams = Type.Object(
  { id: Id, inputs: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
  { additionalProperties: false },
);
/** `schedules.list`. */
export const ListParams = Type.Object(
  {
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    enabled: Type.Optional(Type.Boolean()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
/** Params of tasks.scheduled.due. */
export const DueParams = Type.Object(
  {
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

/** `schedules.runs`. */
export const RunsParams = Type.Object(
  { id: Id, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
  { additionalProperties: false },
);

/** `schedules.preview`: the fire times a trigger would give, from a time on. */
export const PreviewParams = Type.Object(
  {
    cron: Type.Optional(Fields.cron),
    timezone: Type.Optional(Fields.timezone),
    interval_s: Type.Optional(Fields.interval_s),
    at: Type.Optional(Fields.at),
    starts_at: Type.Optional(Fields.starts_at),
    ends_at: Type.Optional(Fields.ends_at),
    from: Type.Optional(Time),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);

/** The params of `schedules.create`, checked. */
export type CreateInput = Static<typeof CreateParams>;
/** The params of `schedules.update`, checked. */
export type UpdateInput = Static<typeof UpdateParams>;
/** The params of `schedules.preview`, checked. */
export type PreviewInput = Static<typeof PreviewParams>;
