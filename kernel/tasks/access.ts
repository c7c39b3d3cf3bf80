import { ApflowError } from '../errors/apflow-error.ts';
import type { Principal } from '../hooks/hook-types.ts';

/** True for administrators (`admin` among the principal's roles). */
export function isAdmin(principal: Principal | undefined): boolean {
  return principal?.roles.includes('admin') === true;
}

/**
 * The read rule of apflow (reference/original-apflow.md §9): with no principal (authentication
 * off) everything is allowed; otherwise administrators may read anything and users what they own
 * and what belongs to nobody (the example trees). Every route and plugin asks this, and answers
 * something the caller may not read exactly like something that does not exist.
 */
export function mayAccess(principal: Principal | undefined, owner: string | null | undefined): boolean {
  if (!principal || owner === null || owner === undefined) return true;
  return isAdmin(principal) || principal.user_id === owner;
}

/**
 * The write rule, beside {@link mayAccess}: with authentication on, a task that belongs to nobody
 * is read-only to everyone but administrators (otherwise one user could change what another then
 * runs). Users change only what they own; running an ownerless task runs a copy owned by the caller.
 * Ask {@link mayAccess} first: a task the caller may not read is answered as unknown, not refused.
 */
export function mayChange(principal: Principal | undefined, owner: string | null | undefined): boolean {
  if (!principal || isAdmin(principal)) return true;
  return owner !== null && owner !== undefined && principal.user_id === owner;
}

/** The refusal (-32003) of a change {@link mayChange} does not allow, for a task the caller may read. */
export function changeRefused(taskId: string): ApflowError {
  return new ApflowError('APF_FORBIDDEN', {
    message: `Task ${taskId} belongs to no user: only an administrator may change it; copy it (tasks.copy) to get your own`,
  });
}

/**
 * Throws unless the caller may change task `taskId` of `owner`: not found (-32004) when they may
 * not even read it, {@link changeRefused} when it is an ownerless task they may only read.
 */
export function checkChange(principal: Principal | undefined, taskId: string, owner: string | null | undefined): void {
  if (!mayAccess(principal, owner)) throw new ApflowError('APF_NOT_FOUND', { message: `Task ${taskId} not found` });
  if (!mayChange(principal, owner)) throw changeRefused(taskId);
}

/**
 * Refuses (-32003) a new tree whose tasks name an owner the caller may not act for: a user
 * creates only their own tasks (an administrator anyone's). Tasks that name no owner are the caller's.
 */
export function checkNewOwners(principal: Principal | undefined, tasks: unknown): void {
  for (const task of Array.isArray(tasks) ? tasks : [tasks]) {
    const owner = (task as { user_id?: unknown } | null)?.user_id;
    if (typeof owner === 'string' && !mayAccess(principal, owner))
      throw new ApflowError('APF_FORBIDDEN', {
        message: 'Permission denied: you can only create tasks for your own tasks',
      });
  }
}
