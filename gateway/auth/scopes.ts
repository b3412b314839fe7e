/**
 * Key scopes of an access key (gateway/README.md "Roles and scopes"): key ids, exact labels or
 * label prefixes. An access key without scopes reaches every key; with scopes, only keys that match
 * at least one. Pure functions; the routes call them before any work on a key.
 */
import type { ScopeSchema } from '../../common/api/schemas.ts';
import type { z } from 'zod';

export type Scope = z.infer<typeof ScopeSchema>;

/** What a scope is matched against: a key's id and label (null when it has none). */
export interface ScopedKey {
  key_id: string;
  label: string | null;
}

export function scopeMatches(scope: Scope, key: ScopedKey): boolean {
  if ('key_id' in scope) return scope.key_id === key.key_id;
  if ('label' in scope) return key.label !== null && scope.label === key.label;
  return key.label !== null && key.label.startsWith(scope.label_prefix);
}

/** True when the scopes reach the key (an empty list reaches every key). */
export function inScope(scopes: readonly Scope[], key: ScopedKey): boolean {
  return scopes.length === 0 || scopes.some((s) => scopeMatches(s, key));
}

/**
 * A key about to be generated has no id yet: only its label can be in a label or label-prefix
 * scope, so a scoped access key generates labelled keys only.
 */
export function mayCreateLabel(scopes: readonly Scope[], label: string | undefined): boolean {
  if (scopes.length === 0) return true;
  return label !== undefined && scopes.some((s) => !('key_id' in s) && scopeMatches(s, { key_id: '', label }));
}

export function describeScopes(scopes: readonly Scope[]): string {
  return scopes
    .map((s) =>
      'key_id' in s ? `key_id=${s.key_id}` : 'label' in s ? `label=${s.label}` : `label_prefix=${s.label_prefix}`,
    )
    .join(', ');
}
