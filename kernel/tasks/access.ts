import type { Principal } from '../hooks/hook-types.ts';

/** True for administrators (`admin` among the principal's roles). */
export function isAdmin(principal: Principal | undefined): boolean {
  return principal?.roles.includes('admin') === true;
}

/**
 * The one access rule of apflow (reference/original-apflow.md §9): with no principal
 * (authentication off) everything is allowed; otherwise administrators may act on anything and
 * users on what they own (and on what belongs to nobody). Every route and plugin asks this, and
 * answers something the caller may not act on exactly like something that does not exist.
 */
export function mayAccess(principal: Principal | undefined, owner: string | null | undefined): boolean {
  if (!principal || owner === null || owner === undefined) return true;
  return isAdmin(principal) || principal.user_id === owner;
}
