import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApflowError } from '../errors/apflow-error.ts';
import { errorMessage } from '../internal/error-message.ts';
import { isRecord } from '../internal/is-record.ts';

/** Options of `apflow schedules …` (cac gives numbers for numeric values, `true` for a flag without one). */
export interface SchedulesOptions {
  config?: string;
  json?: boolean;
  table?: boolean;
  userId?: string | number;
  enabled?: boolean;
  paused?: boolean;
  limit?: string | number;
  offset?: string | number;
  name?: string | number;
  cron?: string;
  timezone?: string;
  every?: string | number;
  at?: string;
  webhookOnly?: boolean;
  webhook?: boolean;
  file?: string | true;
  template?: string | number;
  inputs?: string;
  overlap?: string;
  catchUp?: string;
  catchUpMax?: string | number;
  maxRuns?: string | number;
  startsAt?: string;
  endsAt?: string;
  wait?: boolean;
}

const invalid = (message: string) => new ApflowError('APF_INVALID_PARAMS', { message });

/** `--inputs JSON` as an object, or undefined without the flag. */
export function parseInputs(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(text));
  } catch (error) {
    throw new ApflowError('APF_PARSE_ERROR', { message: `--inputs is not valid JSON: ${errorMessage(error)}` });
  }
  if (!isRecord(parsed)) throw invalid('--inputs must be a JSON object, e.g. --inputs \'{"city":"Berlin"}\'');
  return parsed;
}

/** A whole number ≥ `min` from flag `flag`, or undefined without it. */
export function wholeNumber(value: string | number | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw invalid(`${flag} must be a whole number of at least ${min}`);
  return n;
}

function oneOf(value: string | undefined, flag: string, allowed: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(String(value))) throw invalid(`${flag} must be one of: ${allowed.join(', ')}`);
  return String(value);
}

/** The tasks array of `-f FILE` (`-f -`: standard input): an array, or `{ "tasks": [...] }` as `apflow run` takes. */
function readTasks(file: string | true): Record<string, unknown>[] {
  const stdin = file === true || file === '-';
  if (stdin && process.stdin.isTTY) throw invalid('-f needs a tasks file, or - with the tasks array on standard input');
  const name = stdin ? 'standard input' : file;
  let text: string;
  try {
    text = readFileSync(stdin ? 0 : resolve(file), 'utf8');
  } catch (error) {
    throw invalid(`cannot read ${name}: ${errorMessage(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ApflowError('APF_PARSE_ERROR', { message: `${name} is not valid JSON: ${errorMessage(error)}` });
  }
  const tasks = isRecord(parsed) && Array.isArray(parsed.tasks) ? parsed.tasks : parsed;
  if (!Array.isArray(tasks) || tasks.length === 0 || !tasks.every(isRecord))
    throw invalid(`${name} must hold a non-empty array of task objects (or {"tasks": [...]})`);
  return tasks;
}

/** The trigger flags as `schedules.create` fields: exactly one of --cron, --every, --at, --webhook-only. */
function trigger(options: SchedulesOptions): Record<string, unknown> {
  const given = (['cron', 'every', 'at', 'webhookOnly'] as const).filter((key) => options[key] !== undefined);
  const flags = { cron: '--cron', every: '--every', at: '--at', webhookOnly: '--webhook-only' };
  if (given.length !== 1)
    throw invalid(
      given.length === 0
        ? 'schedules add needs a trigger: --cron "EXPR", --every SECONDS, --at ISO-TIME or --webhook-only'
        : `give one trigger, not ${given.map((key) => flags[key]).join(' and ')}`,
    );
  if (options.timezone !== undefined && options.cron === undefined) throw invalid('--timezone goes with --cron');
  if (options.cron !== undefined)
    return { cron: String(options.cron), ...(options.timezone !== undefined ? { timezone: options.timezone } : {}) };
  if (options.every !== undefined) return { interval_s: wholeNumber(options.every, '--every') };
  if (options.at !== undefined) return { at: String(options.at) };
  return { webhook: true };
}

/** The `schedules.create` params of `apflow schedules add`, checked flag by flag (reads the tasks file). */
export function createParams(options: SchedulesOptions): Record<string, unknown> {
  if (options.name === undefined) throw invalid('schedules add needs --name NAME');
  if ((options.file === undefined) === (options.template === undefined))
    throw invalid('schedules add needs a template: -f TASKS.json (- for standard input) or --template TASK_ID');
  const params: Record<string, unknown> = {
    name: String(options.name),
    ...trigger(options),
    ...(options.file !== undefined
      ? { tasks: readTasks(options.file) }
      : { template_task_id: String(options.template) }),
  };
  const inputs = parseInputs(options.inputs);
  if (inputs) params.inputs = inputs;
  const overlap = oneOf(options.overlap, '--overlap', ['skip', 'allow', 'cancel_previous']);
  if (overlap !== undefined) params.overlap = overlap;
  const catchUp = oneOf(options.catchUp, '--catch-up', ['none', 'one', 'all']);
  if (catchUp !== undefined) params.catch_up = catchUp;
  const catchUpMax = wholeNumber(options.catchUpMax, '--catch-up-max');
  if (catchUpMax !== undefined) params.catch_up_max = catchUpMax;
  const maxRuns = wholeNumber(options.maxRuns, '--max-runs');
  if (maxRuns !== undefined) params.max_runs = maxRuns;
  if (options.startsAt !== undefined) params.starts_at = String(options.startsAt);
  if (options.endsAt !== undefined) params.ends_at = String(options.endsAt);
  if (options.webhook) params.webhook = true;
  if (options.paused) params.enabled = false;
  if (options.userId !== undefined) params.user_id = String(options.userId);
  return params;
}
