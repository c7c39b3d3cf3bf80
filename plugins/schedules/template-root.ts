import { ApflowError, isRecord, type PluginApp, type TaskRow } from 'apflow';
import type { ScheduleRow } from './schedule-row.ts';

/** What picks a task's executor, and so which of its inputs are secret. */
type Selectable = Pick<TaskRow, 'name' | 'params' | 'schemas' | 'inputs'>;

const recordOr = (value: unknown) => (isRecord(value) ? value : null);

/** The root task of a schedule's template (the stored array's, or the template tree's), if any. */
async function templateRoot(app: PluginApp, row: ScheduleRow): Promise<Selectable | null> {
  if (row.tasks) {
    const root = row.tasks.find((task) => task.parent_id === undefined || task.parent_id === null);
    return root
      ? { name: String(root.name), params: recordOr(root.params), schemas: recordOr(root.schemas), inputs: null }
      : null;
  }
  return row.template_task_id ? await app.tasks.get(row.template_task_id) : null;
}

/**
 * `inputs` as stored for a schedule or one of its fires: the secret inputs of the template root's
 * executor sealed, as a task's are (they are merged into that root at each fire).
 */
export async function sealRootInputs(
  app: PluginApp,
  row: ScheduleRow,
  inputs: Record<string, unknown> | null,
): Promise<Record<string, unknown> | null> {
  if (!inputs) return inputs;
  const root = await templateRoot(app, row);
  return root ? app.tasks.sealInputs({ ...root, inputs }) : inputs;
}

/**
 * Refuses to store secrets sealed with a key that does not outlive this server run (PostgreSQL
 * without `secrets.key` or `auth.jwt_secret`): the schedule would fail at every fire after a restart.
 */
export function checkLastingSeal(app: PluginApp, sealed: unknown, plain: unknown, what: string): void {
  if (sealed === plain || app.secrets.durable) return;
  throw new ApflowError('APF_INVALID_PARAMS', {
    message: `${what} holds secret inputs, and sealing them needs a lasting secrets key (secrets.key or APFLOW_SECRETS_KEY, see docs/configuration.md): without one they could not be opened after a restart`,
  });
}
