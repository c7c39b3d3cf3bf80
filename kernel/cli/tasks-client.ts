import { ApflowError } from '../errors/apflow-error.ts';
import type { Parsed } from './command-group.ts';

export { withClient } from './connect.ts';

/** The task id a subcommand was given (runGroup has checked there is one). */
export function firstId(parsed: Parsed): string {
  const [id] = parsed.positionals;
  if (id === undefined) throw new ApflowError('APF_INVALID_PARAMS', { message: 'a task id is required' });
  return id;
}
