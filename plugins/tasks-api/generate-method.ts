import { ApflowError, type PluginApp } from 'apflow';
import { GenerateParams } from './params.ts';
import { checkAccess } from './permissions.ts';
import { createFor, runToEnd } from './run-methods.ts';

/**
 * `tasks.generate` (the original's): describe a goal, get a task tree. It runs a
 * `generate_executor` task (from an LLM extension such as `@apflow/crewai`) as the caller, so
 * the LLM key comes as for any run (X-LLM-API-KEY, the user's config, the environment); with
 * `save: true` the tree is stored too.
 */
export function registerGenerateMethod(app: PluginApp): void {
  app.rpc.method('/tasks', 'tasks.generate', {
    params: GenerateParams,
    description: 'Turns a requirement into a task tree with an LLM (generate_executor); save: true stores it',
    async handler(params, ctx) {
      if (!params.requirement?.trim())
        throw new ApflowError('APF_INVALID_PARAMS', { message: 'Requirement is required' });
      if (params.user_id !== undefined) checkAccess(ctx.principal, params.user_id, 'generate tasks for');
      if (!app.executors.get('generate_executor')) {
        throw new ApflowError('APF_INVALID_PARAMS', {
          message:
            "tasks.generate needs an LLM extension with generate_executor: npm install @apflow/crewai, then plugins: ['@apflow/crewai']",
        });
      }
      const inputs = Object.fromEntries(
        Object.entries({
          requirement: params.requirement,
          llm_provider: params.llm_provider,
          model: params.model,
          temperature: params.temperature,
          max_tokens: params.max_tokens,
        }).filter(([, value]) => value !== undefined),
      );
      const owner = params.user_id === undefined ? {} : { user_id: params.user_id };
      const run = await createFor(
        app,
        [{ name: 'generate_executor', schemas: { method: 'generate_executor' }, inputs, ...owner }],
        ctx,
      );
      const outcome = await runToEnd(app, run.id, ctx);
      if ('already_running' in outcome || outcome.status !== 'completed') {
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: `Task generation failed: ${'error' in outcome && outcome.error ? outcome.error : 'the generator did not complete'}`,
          data: { root_task_id: run.id },
        });
      }
      // generate_executor's result is `{tasks: [...]}` (its contract with this method).
      const tasks = (outcome.result as { tasks: unknown[] }).tasks;
      const message = `Successfully generated ${tasks.length} task(s)`;
      const answer: Record<string, unknown> = { tasks, count: tasks.length, message };
      if (params.save) {
        const saved = await createFor(
          app,
          // Each task as the generator wrote it: tasks.create checks them.
          tasks.map((task) => ({ ...(task as object), ...owner })),
          ctx,
        );
        Object.assign(answer, {
          root_task_id: saved.id,
          message: `${message} and saved to database (root_task_id: ${saved.id})`,
        });
      }
      return answer;
    },
  });
}
