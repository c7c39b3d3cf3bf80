import { Compile } from 'typebox/compile';
import { ApflowError } from '../errors/apflow-error.ts';
import { errorMessage } from '../internal/error-message.ts';
import type { ExecutorDefinition } from './define-executor.ts';

/** An executor as registered: its definition, where it came from, and its input validator. */
export interface RegisteredExecutor {
  readonly definition: ExecutorDefinition;
  /** `plugin:<name>` or the absolute path of the executor file. */
  readonly source: string;
  readonly loadedAt: string;
  /** Returns the input errors, or null when the inputs are valid. */
  readonly validate: (inputs: unknown) => string[] | null;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

/**
 * Executors keyed by id and grouped by source. Replacing a source is atomic: lookups see the
 * old set or the new set, never a mix. Callers that already hold an executor keep using it,
 * so a task that started on old code finishes on it.
 */
export function createExecutorTable() {
  const byId = new Map<string, RegisteredExecutor>();
  const bySource = new Map<string, string[]>();

  return {
    get: (id: string): RegisteredExecutor | undefined => byId.get(id),
    list: (): RegisteredExecutor[] => [...byId.values()],
    /** Replaces every executor of `source` with `definitions` (checked first; all or nothing). */
    replaceSource(source: string, definitions: readonly unknown[]): RegisteredExecutor[] {
      const loadedAt = new Date().toISOString();
      const fresh = definitions.map((definition) => compileExecutor(definition, source, loadedAt));
      const seen = new Set<string>();
      for (const entry of fresh) {
        const id = entry.definition.id;
        const owner = byId.get(id)?.source;
        if (seen.has(id) || (owner !== undefined && owner !== source)) {
          throw new ApflowError('APF_EXECUTOR_INVALID', {
            message: `executor id '${id}' from ${source} is already provided by ${seen.has(id) ? source : owner}`,
          });
        }
        seen.add(id);
      }
      for (const id of bySource.get(source) ?? []) byId.delete(id);
      for (const entry of fresh) byId.set(entry.definition.id, entry);
      bySource.set(
        source,
        fresh.map((entry) => entry.definition.id),
      );
      return fresh;
    },
    /** Removes every executor of `source`. */
    removeSource(source: string): void {
      for (const id of bySource.get(source) ?? []) byId.delete(id);
      bySource.delete(source);
    },
  };
}

/** A table of executors. */
export type ExecutorTable = ReturnType<typeof createExecutorTable>;

function compileExecutor(value: unknown, source: string, loadedAt: string): RegisteredExecutor {
  const invalid = (why: string) =>
    new ApflowError('APF_EXECUTOR_INVALID', { message: `invalid executor in ${source}: ${why}` });
  if (typeof value !== 'object' || value === null) throw invalid('expected an object made with defineExecutor()');
  // A user's module: its id, execute() and inputSchema are checked here, the rest is taken as typed.
  const definition = value as ExecutorDefinition;
  if (typeof definition.id !== 'string' || !ID_PATTERN.test(definition.id)) {
    throw invalid(
      `'id' must be a string of letters, digits, '_', '.', ':' or '-' (got ${JSON.stringify(definition.id)})`,
    );
  }
  if (typeof definition.execute !== 'function') throw invalid(`executor '${definition.id}' has no execute() function`);
  const secretInputs: unknown = definition.secretInputs;
  if (
    secretInputs !== undefined &&
    (!Array.isArray(secretInputs) ||
      !secretInputs.every((path) => typeof path === 'string' && /^[^.]+(\.[^.]+)*$/.test(path)))
  ) {
    throw invalid(
      `executor '${definition.id}': 'secretInputs' must be an array of dotted input paths such as ['password', 'smtp.password'] (got ${JSON.stringify(secretInputs)})`,
    );
  }
  let validator: ReturnType<typeof Compile> | undefined;
  if (definition.inputSchema !== undefined) {
    try {
      validator = Compile(definition.inputSchema);
    } catch (error) {
      throw invalid(`executor '${definition.id}' has an invalid inputSchema: ${errorMessage(error)}`);
    }
  }
  const validate = (inputs: unknown): string[] | null => {
    if (!validator || validator.Check(inputs)) return null;
    return [...validator.Errors(inputs)].map((e) => `${e.instancePath || 'inputs'} ${e.message}`);
  };
  return Object.freeze({ definition, source, loadedAt, validate });
}
