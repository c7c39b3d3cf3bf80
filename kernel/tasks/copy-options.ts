import { ApflowError } from '../errors/apflow-error.ts';
import { isRecord } from '../internal/is-record.ts';
import { NOT_RUN, toIso, type TaskRow, type TaskStatus } from './task-record.ts';

/** Which part of a tree a copy takes (reference/original-apflow.md §2.4). */
export type CopyMode = 'minimal' | 'full' | 'custom';

/** Options of `tasks.copy` (reference/original-apflow.md §2.4). */
export interface CopyOptions {
  /** `minimal` (default), `full` or `custom`. */
  copy_mode?: CopyMode;
  /** minimal mode: also gather each direct child's subtree (as the original; already inside the task's subtree). */
  children?: boolean;
  /** custom mode: the ids to copy (required there). */
  custom_task_ids?: string[];
  /** custom mode: also copy the descendants of those ids. */
  custom_include_children?: boolean;
  /**
   * Fields to set on every copy after the defaults: an object of field → value, or an array of
   * field names to reset to their fresh value. Only {@link RESETTABLE_FIELDS} may be named.
   */
  reset_fields?: Record<string, unknown> | string[];
  /** false: store nothing and return the tasks array (usable by tasks.create). Default true. */
  save?: boolean;
  /**
   * Copies that run again keep the answers their originals got (`ctx.askInput`), so their
   * questions are not asked again. Default false: a copy asks again. Saved copies only.
   */
  keep_answers?: boolean;
  /**
   * The owner of every copied task (null: nobody). Default: each original's owner. The tasks API
   * sets it to the caller when authentication is on, so a copy always belongs to who made it.
   */
  user_id?: string | null;
}

/** {@link CopyOptions} checked, with defaults filled in. */
export interface ParsedCopyOptions {
  mode: CopyMode;
  children: boolean;
  customIds: string[];
  customIncludeChildren: boolean;
  /** The fields every copy gets, over the mode's defaults. */
  overrides: Partial<TaskRow>;
  save: boolean;
  keepAnswers: boolean;
  /** The copies' owner; undefined keeps each original's. */
  owner: string | null | undefined;
}

/** The fields `reset_fields` may name, with the value a reset gives them. */
export const RESETTABLE_FIELDS = {
  ...NOT_RUN,
  inputs: {},
  params: null,
} as const satisfies Partial<Record<keyof TaskRow, unknown>>;

type ResettableField = keyof typeof RESETTABLE_FIELDS;

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });
// in_progress is left out: no engine would own a copy stored as running.
const SETTABLE_STATUSES: readonly TaskStatus[] = ['pending', 'completed', 'failed', 'cancelled'];

const isCopyMode = (value: unknown): value is CopyMode => value === 'minimal' || value === 'full' || value === 'custom';
const isSettableStatus = (value: unknown): value is TaskStatus => SETTABLE_STATUSES.some((status) => status === value);
const isIdList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((id) => typeof id === 'string' && id !== '');
const isResettable = (field: string): field is ResettableField => Object.hasOwn(RESETTABLE_FIELDS, field);

/** Checks copy options as they come from a client; throws `APF_INVALID_PARAMS` naming the problem. */
export function parseCopyOptions(input: unknown): ParsedCopyOptions {
  const given = input ?? {};
  if (!isRecord(given)) throw invalid('copy options must be an object');
  const mode = given.copy_mode ?? 'minimal';
  if (!isCopyMode(mode)) {
    throw invalid(`copy_mode must be one of minimal, full, custom; got ${JSON.stringify(mode)}`);
  }
  const flag = (key: string, fallback: boolean): boolean => {
    const value = given[key] ?? fallback;
    if (typeof value !== 'boolean') throw invalid(`${key} must be a boolean`);
    return value;
  };
  const ids = given.custom_task_ids ?? [];
  if (!isIdList(ids)) {
    throw invalid('custom_task_ids must be an array of task ids');
  }
  if (mode === 'custom' && ids.length === 0) throw invalid("custom_task_ids is required when copy_mode='custom'");
  return {
    mode,
    children: flag('children', false),
    customIds: [...new Set(ids)],
    customIncludeChildren: flag('custom_include_children', false),
    overrides: parseResetFields(given.reset_fields),
    save: flag('save', true),
    keepAnswers: flag('keep_answers', false),
    owner: parseOwner(given.user_id),
  };
}

function parseOwner(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string' || value === '' || value.length > 255)
    throw invalid('user_id must be a user id (1 to 255 characters) or null');
  return value;
}

function parseResetFields(input: unknown): Partial<TaskRow> {
  if (input === undefined || input === null) return {};
  const overrides: Partial<TaskRow> = {};
  for (const [field, value] of resetEntries(input)) {
    if (!isResettable(field)) {
      throw invalid(
        `reset_fields: '${field}' cannot be reset (resettable: ${Object.keys(RESETTABLE_FIELDS).join(', ')})`,
      );
    }
    setChecked(overrides, field, value);
  }
  return overrides;
}

/** An array names fields to reset to their fresh value; an object gives the values. */
function resetEntries(input: unknown): [string, unknown][] {
  if (isRecord(input)) return Object.entries(input);
  if (!Array.isArray(input)) throw invalid('reset_fields must be an object of field values or an array of field names');
  return input.map((field) => {
    if (typeof field !== 'string') throw invalid('reset_fields must list field names');
    // A field that cannot be reset is refused before its value is looked at.
    return [field, isResettable(field) ? RESETTABLE_FIELDS[field] : undefined];
  });
}

/** Checks `value` for `field` and sets it on `overrides`. */
function setChecked(overrides: Partial<TaskRow>, field: ResettableField, value: unknown): void {
  const bad = (expected: string) => invalid(`reset_fields.${field} must be ${expected}`);
  switch (field) {
    case 'status':
      if (!isSettableStatus(value)) throw bad(`one of ${SETTABLE_STATUSES.join(', ')}`);
      overrides.status = value;
      return;
    case 'progress':
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw bad('a number from 0 to 1');
      overrides.progress = value;
      return;
    case 'error':
      if (value !== null && typeof value !== 'string') throw bad('a string or null');
      overrides.error = value;
      return;
    case 'started_at':
    case 'completed_at': {
      if (value === null) {
        overrides[field] = null;
        return;
      }
      const iso = typeof value === 'string' ? toIso(value) : null;
      if (iso === null || Number.isNaN(Date.parse(iso))) throw bad('an ISO-8601 timestamp or null');
      overrides[field] = iso;
      return;
    }
    case 'inputs':
    case 'params':
      if (value !== null && !isRecord(value)) throw bad('an object or null');
      overrides[field] = structuredClone(value);
      return;
    case 'result':
      overrides.result = structuredClone(value ?? null);
      return;
  }
}
