import { TASK_STATUSES, type PluginApp, type TaskJson } from 'apflow';
import { callTasks, ToolFailure, type McpCaller } from './caller.ts';

/** MCP's "resource not found" error code. */
export const RESOURCE_NOT_FOUND = -32002;

const JSON_TYPE = 'application/json';
const STATUSES: ReadonlySet<string> = new Set(TASK_STATUSES);

/** The resource templates: one task, and task listings with the original's query parameters. */
export const resourceTemplates = [
  {
    uriTemplate: 'task://{task_id}',
    name: 'task',
    title: 'A task',
    description: 'One task with its inputs, status, result and error (JSON)',
    mimeType: JSON_TYPE,
  },
  {
    uriTemplate: 'tasks://{?status,limit,offset}',
    name: 'tasks',
    title: 'Task trees',
    description:
      'Roots of your task trees, newest first; status filters by state, limit (1–1000, default 100) and offset page',
    mimeType: JSON_TYPE,
  },
];

/** The listing, and the caller's newest trees (at most 20) as `task://` resources. */
export async function listResources(app: PluginApp, caller: McpCaller) {
  const roots = (await callTasks(app, 'tasks.list', { root_only: true, limit: 20 }, caller)) as TaskJson[];
  return [
    {
      uri: 'tasks://',
      name: 'tasks',
      title: 'Task trees',
      description: 'Roots of your task trees, newest first',
      mimeType: JSON_TYPE,
    },
    ...roots.map((task) => ({
      uri: `task://${task.id}`,
      name: task.name,
      title: task.name,
      description: `Task ${task.id}: ${task.status}`,
      mimeType: JSON_TYPE,
    })),
  ];
}

/** What a resource URI names. */
export type ResourceTarget = { kind: 'task'; taskId: string } | { kind: 'tasks'; params: Record<string, unknown> };

/** Parses a `task://` or `tasks://` URI; a failure names what was wrong. */
export function parseResourceUri(uri: string): ResourceTarget {
  if (uri.startsWith('task://')) {
    const taskId = decodeURIComponent(uri.slice('task://'.length).replace(/\/$/, ''));
    if (!taskId || taskId.length > 255)
      throw new ToolFailure(`Resource ${uri} not found: task:// needs a task id`, RESOURCE_NOT_FOUND);
    return { kind: 'task', taskId };
  }
  if (uri === 'tasks:' || uri.startsWith('tasks://') || uri.startsWith('tasks:?')) {
    const query = new URLSearchParams(uri.slice(uri.indexOf('?') + 1 || uri.length));
    const params: Record<string, unknown> = { root_only: true };
    const status = query.get('status');
    if (status !== null) {
      if (!STATUSES.has(status))
        throw new ToolFailure(`Invalid tasks:// query: status must be one of ${[...STATUSES].join(', ')}`, -32602);
      params.status = status;
    }
    for (const [key, min, max] of [
      ['limit', 1, 1000],
      ['offset', 0, Number.MAX_SAFE_INTEGER],
    ] as const) {
      const value = query.get(key);
      if (value === null) continue;
      const number = Number(value);
      if (!Number.isInteger(number) || number < min || number > max)
        throw new ToolFailure(
          `Invalid tasks:// query: ${key} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`,
          -32602,
        );
      params[key] = number;
    }
    return { kind: 'tasks', params };
  }
  throw new ToolFailure(`Resource ${uri} not found: apflow serves task://{task_id} and tasks://`, RESOURCE_NOT_FOUND);
}

/** Reads a resource as one JSON text content. Someone else's task reads as unknown. */
export async function readResource(app: PluginApp, uri: string, caller: McpCaller) {
  const target = parseResourceUri(uri);
  let value: unknown;
  if (target.kind === 'task') {
    value = await callTasks(app, 'tasks.get', { task_id: target.taskId }, caller);
    if (!value) throw new ToolFailure(`Resource ${uri} not found`, RESOURCE_NOT_FOUND);
  } else {
    value = await callTasks(app, 'tasks.list', target.params, caller);
  }
  return { contents: [{ uri, mimeType: JSON_TYPE, text: JSON.stringify(value, null, 2) }] };
}
