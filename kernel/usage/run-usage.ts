import type { Logger } from '../internal/logger.ts';
import type { UsageRecorder } from './record-usage.ts';
import type { UsageReport } from './usage-types.ts';

/**
 * The LLM calls of one run of a task: each stored as it is reported (a long run's calls count
 * for quotas while it runs); the run settles only once they are all stored, so its task's
 * `token_usage` is complete when its ending is seen. The engine makes it on a run's first report.
 */
export function createRunUsage(
  recorder: UsageRecorder | undefined,
  task: { id: string; root_id: string; user_id: string | null },
  log: Logger,
) {
  const pending = new Set<Promise<void>>();
  return {
    /** `ctx.usage`: checks the report at once (a bad one throws), stores it in the background. */
    report(report: UsageReport): void {
      if (!recorder) return;
      const record = recorder.recordOf(task, report);
      const write = recorder
        .store(record)
        .catch((error: unknown) => log.warn({ err: error, task_id: task.id }, 'an LLM call’s usage was not stored'));
      pending.add(write);
      void write.then(() => pending.delete(write));
    },
    /** Resolves once every reported call is stored (or failed to be). */
    async settled(): Promise<void> {
      await Promise.all(pending);
    },
  };
}

/** The LLM calls of one run (see {@link createRunUsage}). */
export type RunUsage = ReturnType<typeof createRunUsage>;
