import { ApflowError } from '../errors/apflow-error.ts';
import { NOT_RUN, toIso, type TaskRow } from './task-record.ts';

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
const MODES: readonly string[] = ['minimal', 'full', 'custom'];
// in_progress is left out: no engine would own a copy stored as running.
const SETTABLE_STATUSES: readonly string[] = ['pending', 'completed', 'failed', 'cancelled'];

/** Checks copy options as they come from a client; throws `APF_INVALID_PARAMS` naming the problem. */
export function parseCopyOptions(input: unknown): ParsedCopyOptions {
  const given = input ?? {};
  if (!isObject(given)) throw invalid('copy options must be an object');
  const mode = given.copy_mode ?? 'minimal';
  if (typeof mode !== 'string' || !MODES.includes(mode)) {
    throw invalid(`copy_mode must be one of minimal, full, custom; got ${JSON.stringify(mode)}`);
  }
  const flag = (key: string, fallback: boolean): boolean => {
    const value = given[key] ?? fallback;
    if (typeof value !== 'boolean') throw invalid(`${key} must be a boolean`);
    return value;
  };
  const ids = given.custom_task_ids ?? [];
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id === '')) {
    throw invalid('custom_task_ids must be an array of task ids');
  }
  if (mode === 'custom' && ids.length === 0) throw invalid("custom_task_ids is required when copy_mode='custom'");
  return {
    mode: mode as CopyMode,
    children: flag('children', false),
    customIds: [...new Set(ids as string[])],
    customIncludeChildren: flag('custom_include_children', false),
    overrides: parseResetFields(given.reset_fields),
    save: flag('save', true),
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
  const overrides: Record<string, unknown> = {};
  for (const [field, value] of resetEntries(input)) {
    if (!Object.hasOwn(RESETTABLE_FIELDS, field)) {
      throw invalid(
        `reset_fields: '${field}' cannot be reset (resettable: ${Object.keys(RESETTABLE_FIELDS).join(', ')})`,
      );
    }
    overrides[field] = checkValue(field as ResettableField, value);
  }
  return overrides as Partial<TaskRow>;
}

/** An array names fields to reset to their fresh value; an object gives the values. */
function resetEntries(input: unknown): [string, unknown][] {
  if (isObject(input)) return Object.entries(input);
  if (!Array.isArray(input)) throw invalid('reset_fields must be an object of field values or an array of field names');
  return input.map((field) => {
    if (typeof field !== 'string') throw invalid('reset_fields must list field names');
    return [field, RESETTABLE_FIELDS[field as ResettableField]];
  });
}

function checkValue(field: ResettableField, value: unknown): unknown {
  const bad = (expected: string) => invalid(`reset_fields.${field} must be ${expected}`);
  switch (field) {
    case 'status':
      if (typeof value !== 'string' || !SETTABLE_STATUSES.includes(value))
        throw bad(`one of ${SETTABLE_STATUSES.join(', ')}`);
      return value;
    case 'progress':
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw bad('a number from 0 to 1');
      return value;
    case 'error':
      if (value !== null && typeof value !== 'string') throw bad('a string or null');
      return value;
    case 'started_at':
    case 'completed_at': {
      if (value === null) return null;
      const iso = typeof value === 'string' ? toIso(value) : null;
      if (iso === null || Number.isNaN(Date.parse(iso))) throw bad('an ISO-8601 timestamp or null');
      return iso;
    }
    case 'inputs':
    case 'params':
      if (value !== null && !isObject(value)) throw bad('an object or null');
      return structuredClone(value);
    case 'result':
      return structuredClone(value ?? null);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
