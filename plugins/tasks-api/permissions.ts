import { ApflowError, isAdmin, mayAccess, type Principal } from 'apflow';

export { isAdmin, mayAccess };

/**
 * Refuses a request that names another user (create, list or count for them) unless the caller
 * may act for that user (apflow's one rule, `mayAccess`). Tasks themselves are never refused
 * this way: someone else's task is answered like an unknown one.
 */
export function checkAccess(
  principal: Principal | undefined,
  owner: string | null | undefined,
  operation: string,
): void {
  if (!mayAccess(principal, owner)) {
    throw new ApflowError('APF_FORBIDDEN', { message: `Permission denied: you can only ${operation} your own tasks` });
  }
}

/**
 * The user a listing is about: the one asked for (checked), else the caller's own unless they
 * are an administrator (who then sees everyone), else nobody in particular.
 */
export function listingUser(
  principal: Principal | undefined,
  asked: string | undefined,
  operation: string,
): string | undefined {
  if (asked !== undefined) {
    checkAccess(principal, asked, operation);
    return asked;
  }
  if (principal && !isAdmin(principal)) return principal.user_id;
  return undefined;
}
