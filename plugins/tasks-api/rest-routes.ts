import { ApflowError, TASK_STATUSES, toTaskJson, type PluginApp } from 'apflow';
import { listingUser, mayAccess } from './permissions.ts';

const STATUSES: readonly string[] = TASK_STATUSES;

/** The guide's REST views: `GET /tasks/{task_id}/status` and `GET /tasks?user_id=…`. */
export function registerRestRoutes(app: PluginApp): void {
  app.http.get<{ Params: { task_id: string } }>('/tasks/:task_id/status', async (request) => {
    const row = await app.tasks.visible(request.params.task_id, request.apflow.principal);
    if (!row) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${request.params.task_id} not found` });
    const root = row.id === row.root_id ? row : await app.tasks.get(row.root_id);
    return {
      task_id: row.id,
      root_task_id: row.root_id,
      name: row.name,
      status: row.status,
      progress: row.progress,
      error: row.error,
      is_running: app.engine.isRunning(row.root_id) || root?.run_state === 'running',
      started_at: row.started_at,
      updated_at: row.updated_at,
      completed_at: row.completed_at,
    };
  });

  app.http.get<{ Querystring: Record<string, string | string[] | undefined> }>('/tasks', async (request) => {
    const query = singleValues(request.query);
    const status = query.status;
    if (status !== undefined && !STATUSES.includes(status)) {
      throw new ApflowError('APF_INVALID_PARAMS', { message: `status must be one of ${STATUSES.join(', ')}` });
    }
    const user = listingUser(request.apflow.principal, query.user_id || undefined, 'list');
    const rows = await app.tasks.list({
      user_id: user,
      status,
      root_only: query.root_only === undefined ? true : !['false', '0', 'no'].includes(query.root_only),
      limit: whole('limit', query.limit, 100, 1, 1000),
      offset: whole('offset', query.offset, 0, 0, Number.MAX_SAFE_INTEGER),
    });
    return rows.filter((row) => mayAccess(request.apflow.principal, row.user_id)).map(toTaskJson);
  });
}

/** The query's parameters, each given once: a repeated one (`?user_id=a&user_id=b`) is refused. */
function singleValues(query: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const repeated = Object.keys(query).filter((key) => Array.isArray(query[key]));
  if (repeated.length)
    throw new ApflowError('APF_INVALID_PARAMS', { message: `${repeated.join(', ')} may be given once only` });
  return query as Record<string, string | undefined>;
}

function whole(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new ApflowError('APF_INVALID_PARAMS', {
      message: `${name} must be a whole number from ${min} to ${max}, got '${value}'`,
    });
  }
  return number;
}
