import { invalidParams, unsupported } from './errors.ts';
import { isApflowError, type PluginApp } from 'apflow';
import type { CallInfo } from './call-context.ts';

/**
 * Calls a method of the tasks API for an A2A caller, with the caller's identity, so the same
 * checks (tree rules, permissions, user stamping) apply as on `POST /tasks`. Its refusals become
 * A2A errors in its own words; an internal error is thrown as it is (and answered as one).
 */
async function callTasksApi(
  app: PluginApp,
  method: string,
  params: Record<string, unknown>,
  call: CallInfo,
): Promise<unknown> {
  try {
    return await app.rpc.call('/tasks', method, params, {
      request: call.request,
      principal: call.principal,
      log: call.log,
    });
  } catch (error) {
    if (!isApflowError(error) || error.code === 'APF_INTERNAL') throw error;
    if (error.code === 'APF_METHOD_NOT_FOUND')
      throw unsupported(`apflow has no operation '${method}' (see the agent card's skills)`);
    const detail = typeof error.data === 'string' ? ` (${error.data})` : '';
    throw invalidParams(`${method} refused the request: ${error.message}${detail}`);
  }
}

/** Creates a task tree (`tasks.create`); returns its root's id. */
export async function createTree(app: PluginApp, tasks: unknown[], call: CallInfo): Promise<string> {
  const root = (await callTasksApi(app, 'tasks.create', { tasks }, call)) as { id: string };
  return root.id;
}

/** Runs another operation a message asked for (`metadata.method`); returns its result. */
export function runOperation(
  app: PluginApp,
  method: string,
  params: Record<string, unknown>,
  call: CallInfo,
): Promise<unknown> {
  return callTasksApi(app, method, params, call);
}
