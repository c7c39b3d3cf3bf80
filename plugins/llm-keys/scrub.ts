import { ApflowError, isApflowError, type TaskRunContext } from 'apflow';

/** `text` with every `secret` in it replaced by `***`. */
const without = (text: string, secrets: readonly string[]) => secrets.reduce((out, secret) => out.split(secret).join('***'), text);

/**
 * The run's result and error with the given keys taken out, wherever they appear: providers
 * echo keys in their error messages, and an executor may put what it got into its result.
 */
export function scrubRun(run: TaskRunContext, secrets: readonly string[]): TaskRunContext {
  const present = secrets.filter((secret) => secret.length >= 8);
  if (present.length === 0) return run;
  let { result, error } = run;
  if (result !== undefined) {
    const text = JSON.stringify(result);
    if (text !== undefined && present.some((secret) => text.includes(secret))) result = JSON.parse(without(text, present)) as unknown;
  }
  if (error && present.some((secret) => error?.message.includes(secret))) {
    error = new ApflowError(isApflowError(error) ? error.code : 'APF_INTERNAL', { message: without(error.message, present) });
  }
  return result === run.result && error === run.error ? run : { ...run, result, error };
}
