import { ApflowError, type Principal } from 'apflow';

/**
 * The one permission rule of the tasks API (reference/original-apflow.md §9): with no principal
 * (authentication off) everything is allowed; otherwise administrators may act on anything and
 * users on their own tasks (and on tasks that belong to nobody). The error never says whose
 * task it was, nor whether it exists.
 */
export function checkAccess(principal: Principal | undefined, owner: string | null | undefined, operation: string): void {
  if (!mayAccess(principal, owner)) {
    throw new ApflowError('APF_FORBIDDEN', { message: `Permission denied: you can only ${operation} your own tasks` });
  }
}

/** Whether `principal` may act on something owned by `owner`. */
export function mayAccess(principal: Principal | undefined, owner: string | null | undefined): boolean {
  if (!principal || owner === null || owner === undefined) return true;
  return isAdmin(principal) || principal.user_id === owner;
}

/** True for administrators. */
export function isAdmin(principal: Principal | undefined): boolean {
  return principal?.roles.includes('admin') === true;
}

/**
 * The user a listing is about: the one asked for (checked), else the caller's own unless they
 * are an administrator (who then sees everyone), else nobody in particular.
 */
export function listingUser(principal: Principal | undefined, asked: string | undefined, operation: string): string | undefined {
  if (asked !== undefined) {
    checkAccess(principal, asked, operation);
    return asked;
  }
  if (principal && !isAdmin(principal)) return principal.user_id;
  return undefined;
}
