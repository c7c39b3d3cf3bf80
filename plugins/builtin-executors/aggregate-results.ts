import { defineExecutor } from 'apflow';

/**
 * `aggregate_results_executor`: gathers the results of the task's dependencies (merged into its
 * inputs under their ids by the engine) into one object.
 */
export const aggregateResultsExecutor = defineExecutor({
  id: 'aggregate_results_executor',
  name: 'Aggregate results',
  description: 'Collects the results of the dependencies into {results: {<dependency id>: result}}',
  execute(inputs: Record<string, unknown>, ctx) {
    const ids = (ctx.task.dependencies ?? []).map((dep) => dep.id);
    const results = ids.length
      ? Object.fromEntries(ids.filter((id) => id in inputs).map((id) => [id, inputs[id]]))
      : { ...inputs };
    return {
      summary: 'Task Results Aggregation',
      timestamp: new Date().toISOString(),
      results,
      result_count: Object.keys(results).length,
    };
  },
});
