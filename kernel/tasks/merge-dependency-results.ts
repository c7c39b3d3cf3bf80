import { isUnsafeKey, setOwn } from '../internal/safe-merge.ts';
import type { TaskRow } from './task-record.ts';

/**
 * The inputs a task runs with: its own inputs with the results of its completed dependencies
 * merged in, as the original does (reference/original-apflow.md §2.2). With
 * `schemas.input_schema.properties`, matching fields of the (unwrapped) result are copied by
 * name; otherwise the whole result goes under the dependency's id. Results are data from
 * executors and clients: keys are set as own properties, and `__proto__`, `constructor` and
 * `prototype` are never copied from a result by name.
 */
export function mergeDependencyResults(
  task: Readonly<Pick<TaskRow, 'inputs' | 'schemas' | 'dependencies'>>,
  lookup: (id: string) => Readonly<Pick<TaskRow, 'id' | 'status' | 'result'>> | undefined,
): Record<string, unknown> {
  // A spread defines own properties: the task's own inputs are kept exactly as given.
  const inputs: Record<string, unknown> = { ...(task.inputs ?? {}) };
  const properties = schemaProperties(task.schemas);
  for (const dependency of task.dependencies ?? []) {
    const dep = lookup(dependency.id);
    if (!dep || dep.status !== 'completed') continue;
    const result = dep.result;
    if (isObject(result)) {
      const actual = isObject(result.result) ? result.result : result;
      if (properties) {
        for (const name of properties)
          if (!isUnsafeKey(name) && Object.hasOwn(actual, name)) setOwn(inputs, name, actual[name]);
      } else {
        setOwn(inputs, dep.id, result);
      }
    } else {
      setOwn(inputs, dep.id, result);
    }
  }
  return inputs;
}

function schemaProperties(schemas: Record<string, unknown> | null): string[] | null {
  const inputSchema = schemas?.input_schema;
  if (!isObject(inputSchema) || !isObject(inputSchema.properties)) return null;
  return Object.keys(inputSchema.properties);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
