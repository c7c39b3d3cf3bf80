import type { RegisteredExecutor } from '../executors/executor-table.ts';
import { findExecutor } from '../tasks/select-executor.ts';
import type { TaskRow } from '../tasks/task-record.ts';
import { openInputs, sealInputs } from './secret-inputs.ts';
import type { SecretSealer } from './secret-sealer.ts';

type Selectable = Pick<TaskRow, 'name' | 'params' | 'schemas' | 'inputs'>;

/**
 * Secret inputs of tasks: sealed before a task is stored (the paths its executor lists in
 * `secretInputs`), opened for a run. One object serves every way a task's inputs are written
 * (create, update, copy) and the engine's runs.
 */
export interface TaskSecrets {
  /** The inputs to store for `task`: its executor's secret inputs sealed. */
  seal(task: Selectable): Record<string, unknown> | null;
  /** The inputs a run gets, with the plain secrets found in them. */
  open(inputs: Record<string, unknown>): { inputs: Record<string, unknown>; secrets: string[] };
}

/** Builds the task secrets of one app; `executor` finds the executor a task would run with. */
export function createTaskSecrets(
  sealer: SecretSealer,
  executor: (id: string) => RegisteredExecutor | undefined,
): TaskSecrets {
  // A task with no executor yet has nothing known to seal.
  const pathsOf = (task: Selectable) => findExecutor(task, executor)?.definition.secretInputs ?? [];
  return {
    seal(task) {
      if (!task.inputs) return task.inputs;
      const paths = pathsOf(task);
      return paths.length ? sealInputs(task.inputs, paths, sealer) : task.inputs;
    },
    open: (inputs) => openInputs(inputs, sealer),
  };
}
