import { invalidParams, unsupported } from './errors.ts';
import type { PluginApp, RpcResponse } from 'apflow';
import type { CallInfo } from './call-context.ts';

/**
 * Calls a method of the tasks API for an A2A caller, with the caller's identity, so the same
 * checks (tree rules, permissions, user stamping) apply as on `POST /tasks`.
 */
async function callTasksApi(app: PluginApp, method: string, params: Record<string, unknown>, call: CallInfo): Promise<unknown> {
  const outcome = await app.rpc.dispatch('/tasks', { jsonrpc: '2.0', id: 1, method, params }, { request: call.request, principal: call.principal, log: call.log });
  const response = outcome.body as RpcResponse;
  if ('result' in response) return response.result;
  if (response.error.code === -32601) throw unsupported(`apflow has no operation '${method}' (see the agent card's skills)`);
  const detail = typeof response.error.data === 'string' ? ` (${response.error.data})` : '';
  throw invalidParams(`${method} refused the request: ${response.error.message}${detail}`);
}

/** Creates a task tree (`tasks.create`); returns its root's id. */
export async function createTree(app: PluginApp, tasks: unknown[], call: CallInfo): Promise<string> {
  const root = (await callTasksApi(app, 'tasks.create', { tasks }, call)) as { id: string };
  return root.id;
}

/** Runs another operation a message asked for (`metadata.method`); returns its result. */
export function runOperation(app: PluginApp, method: string, params: Record<string, unknown>, call: CallInfo): Promise<unknown> {
  return callTasksApi(app, method, params, call);
}
