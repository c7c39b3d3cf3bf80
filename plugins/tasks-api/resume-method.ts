import { ApflowError, changeRefused, mayChange, type PluginApp } from 'apflow';
import { loadTask } from './read-methods.ts';
import { ResumeParams } from './params.ts';

/**
 * tasks.resume: answers the question a task waits on (`input_required`, see
 * docs/durable-runs.md). Only who may change the task may answer it; the answer is checked
 * against the question's schema before anything is stored.
 */
export function registerResumeMethod(app: PluginApp): void {
  app.rpc.method('/tasks', 'tasks.resume', {
    params: ResumeParams,
    description:
      "Answers a task waiting for input (status input_required): input is checked against the question's JSON Schema, then the task runs on",
    async handler(params, ctx) {
      const row = await loadTask(app, params.task_id, ctx.principal);
      if (!mayChange(ctx.principal, row.user_id)) throw changeRefused(row.id);
      if (!('input' in params))
        throw new ApflowError('APF_INVALID_PARAMS', { message: 'input is required: the answer to the question' });
      return app.engine.resume(row.id, params.input, { by: ctx.principal?.user_id ?? null });
    },
  });
}
