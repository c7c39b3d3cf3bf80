import { errorMessage } from './error-message.ts';

/**
 * `value` as it is stored: a JSON copy (`undefined` becomes null). Anything that is not JSON is
 * an executor's bug, reported with `what` returned it.
 */
export function toJsonValue(value: unknown, what = 'the executor'): unknown {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? null : JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} returned a value that is not JSON: ${errorMessage(error)}`);
  }
}
