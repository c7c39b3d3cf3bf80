/**
 * What a suspended task waits for (the `waiting` column, and the key the API shows while it
 * waits). `key` names the wait among the executor's calls of one run (see kernel/engine/durable-context.ts).
 */
export type TaskWait =
  | {
      kind: 'input';
      key: string;
      /** What the person (or agent) answering is asked. */
      prompt: string;
      /** JSON Schema the answer must match, if any. */
      schema?: Record<string, unknown>;
      /** When the wait ends without an answer (ISO), if it has a timeout. */
      timeout_at?: string;
      /** Whether a timeout gives a default answer (else the task fails). */
      has_default: boolean;
    }
  | { kind: 'sleep'; key: string; until: string }
  | { kind: 'children'; key: string; task_ids: string[] };

/**
 * One entry of a task's durable memory (`steps`, by key): a step's stored value, an answer (or a
 * question still open), a timer's end, or the children a spawn added.
 */
export type TaskStep =
  | { step: unknown }
  | { answer: unknown; by?: string | null }
  | { asked_at: string; timeout_at?: string }
  | { until: string }
  | { task_ids: string[] };

/** A task's durable memory of its current run, by key (`step:<name>`, `input:<n>`, `sleep:<n>`, `spawn:<n>`). */
export type TaskSteps = Record<string, TaskStep>;
