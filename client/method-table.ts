import type { MethodName } from './method-types.ts';

/** Where a method is served, and whether a failed call may be sent again. */
export interface MethodInfo {
  endpoint: 'tasks' | 'system' | '';
  /**
   * `read`: changes nothing, always safe to send again; `keyed`: runs once per idempotency key,
   * safe to send again only with one; otherwise never sent twice.
   */
  retry?: 'read' | 'keyed';
}

const read = { endpoint: 'tasks', retry: 'read' } as const;
const write = { endpoint: 'tasks' } as const;
const keyed = { endpoint: 'tasks', retry: 'keyed' } as const;

/**
 * Every method the client binds (`client.tasks.running.list` calls `tasks.running.list`). A test
 * lists the server's methods and fails for one missing here; the type checker fails for one
 * here that {@link ApflowMethods} does not type.
 */
export const METHODS = {
  'tasks.create': keyed,
  'tasks.get': read,
  'tasks.detail': read,
  'tasks.tree': read,
  'tasks.list': read,
  'tasks.children': read,
  'tasks.count': read,
  'tasks.usage': read,
  'quotas.status': read,
  'tasks.update': write,
  'tasks.delete': write,
  'tasks.copy': write,
  'tasks.execute': keyed,
  'tasks.resume': write,
  'tasks.generate': write,
  'tasks.cancel': write,
  'tasks.running.cancel': write,
  'tasks.running.list': read,
  'tasks.running.status': read,
  'tasks.running.count': read,
  'schedules.create': write,
  'schedules.get': read,
  'schedules.list': read,
  'schedules.update': write,
  'schedules.delete': write,
  'schedules.pause': write,
  'schedules.resume': write,
  'schedules.trigger': write,
  'schedules.preview': read,
  'schedules.runs': read,
  'tasks.scheduled.list': read,
  'tasks.scheduled.due': read,
  'tasks.webhook.trigger': write,
  'system.health': { endpoint: 'system', retry: 'read' },
  'system.executors': { endpoint: 'system', retry: 'read' },
  execute_task_tree: { endpoint: '', retry: 'keyed' },
} as const satisfies Record<MethodName, MethodInfo>;
