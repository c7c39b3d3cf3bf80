import { invalidParams, unsupported } from './errors.ts';
import { checkNewOwners, isApflowError, type PluginApp } from 'apflow';
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
    throw asA2aError(method, error);
  }
}

/** apflow's refusal of `method` in A2A's words; an internal error as it is (answered as one). */
function asA2aError(method: string, error: unknown): unknown {
  if (!isApflowError(error) || error.code === 'APF_INTERNAL') return error;
  if (error.code === 'APF_METHOD_NOT_FOUND')
    return unsupported(`apflow has no operation '${method}' (see the agent card's skills)`);
  const detail = typeof error.data === 'string' ? ` (${error.data})` : '';
  return invalidParams(`${method} refused the request: ${error.message}${detail}`);
}

/**
 * Creates a task tree and begins its run in one transaction (as `tasks.execute {tasks}` does):
 * the caller's own tree (it may name no other owner), with the request's plugin state. A tree
 * apflow does not take is refused in A2A's words (-32602), nothing created; a run refused before
 * it began (a spent budget) throws apflow's own refusal, and nothing of its tree is left.
 */
export async function executeNewTree(app: PluginApp, tasks: unknown[], call: CallInfo) {
  try {
    checkNewOwners(call.principal, tasks);
    return await app.engine.execute({ tasks, userId: call.principal?.user_id ?? null }, { request: call.request });
  } catch (error) {
    const unfit = isApflowError(error) && (error.code === 'APF_INVALID_PARAMS' || error.code === 'APF_FORBIDDEN');
    throw unfit ? asA2aError('tasks.create', error) : error;
  }
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
