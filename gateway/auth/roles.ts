/**
 * Access-key roles (gateway/README.md "Roles and scopes"): `admin` may do everything (every key of
 * a credentials file without roles is one, as before roles existed), `key-admin` manages keys
 * (generate, change status, read) but can never sign, `signer` signs and reads, `approver` decides
 * approval requests, `auditor` reads the audit log. Scopes (gateway/auth/scopes.ts) narrow which
 * keys a role applies to.
 */
import { z } from 'zod';
import { ACCESS_KEY_ROLES, AccessKeyRoleSchema } from '../../common/api/schemas.ts';
import type { AuditOperation } from '../audit/chain.ts';

export const ROLES = ACCESS_KEY_ROLES;
export const RoleSchema = AccessKeyRoleSchema;
export type Role = z.infer<typeof RoleSchema>;
export const RolesSchema = z.array(RoleSchema).min(1).max(ROLES.length);

/**
 * What a route needs: an audited operation, or a read that not every role may do. A route
 * without a permission only reads what every role may read (key metadata).
 */
export type Permission = AuditOperation | 'AUDIT_READ';

const GRANTS: Record<Role, readonly Permission[] | 'all'> = {
  admin: 'all',
  'key-admin': ['KEY_GENERATE', 'KEY_STATUS_CHANGE', 'KEY_DESTROY', 'KEY_REFRESH'],
  signer: ['KEY_SIGN'],
  approver: ['APPROVAL_RESULT'],
  auditor: ['AUDIT_READ'],
};

/** True when any of `roles` may perform `permission` (undefined: a read, open to every role). */
export function mayPerform(roles: readonly Role[], permission: Permission | undefined): boolean {
  if (permission === undefined) return roles.length > 0;
  return roles.some((r) => GRANTS[r] === 'all' || (GRANTS[r] as readonly Permission[]).includes(permission));
}

/** The roles that grant `permission`, for a 403 that says what is missing. */
export function rolesGranting(permission: Permission): Role[] {
  return ROLES.filter((r) => GRANTS[r] === 'all' || (GRANTS[r] as readonly Permission[]).includes(permission));
}
