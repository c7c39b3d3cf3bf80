import { errorMessage } from './error-message.ts';

/**
 * `value` as it is stored: a JSON copy (`undefined` becomes null). Anything that is not JSON is
 * an executor's bug, reported with `what` returned it.
 */
export function toJsonValue(value: unknown, what = 'the executor'): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new Error(`${what} returned a value that is not JSON: ${errorMessage(error)}`);
  }
  if (text === undefined) return null;
  // PostgreSQL's JSONB cannot hold U+0000; refused here, on both databases, with who made it.
  if (hasNul(text)) throw new Error(`${what} returned a string holding the character U+0000, which cannot be stored`);
  return JSON.parse(text);
}

/** Whether JSON text holds an escaped U+0000 (`\\u0000`, not an escaped backslash before `u0000`). */
export function hasNul(text: string): boolean {
  return /(?<!\\)(?:\\\\)*\\u0000/.test(text);
}
