/**
 * Access-key roles, the minimal part of the governance model (gateway/README.md "Configuration"): `admin` may do
 * everything (every key of a credentials file without roles is one, as before roles existed),
 * `key-admin` manages keys (generate, change status, read) but can never sign, `signer` signs and
 * reads. Approvers, auditors and scopes come with the full governance model.
 */
import { z } from 'zod';
import type { AuditOperation } from '../audit/chain.ts';

export const ROLES = ['admin', 'key-admin', 'signer'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;
export const RolesSchema = z.array(RoleSchema).min(1).max(ROLES.length);

/** Operations a role may perform; a route without an operation only reads. */
const GRANTS: Record<Role, readonly AuditOperation[] | 'all'> = {
  admin: 'all',
  'key-admin': ['KEY_GENERATE', 'KEY_STATUS_CHANGE', 'KEY_REFRESH'],
  signer: ['KEY_SIGN'],
};

/** True when any of `roles` may perform `operation` (undefined: a read, open to every role). */
export function mayPerform(roles: readonly Role[], operation: AuditOperation | undefined): boolean {
  if (operation === undefined) return roles.length > 0;
  return roles.some((r) => GRANTS[r] === 'all' || (GRANTS[r] as readonly AuditOperation[]).includes(operation));
}
