/**
 * The operator's least-privilege cluster role. The chart's ClusterRole must grant exactly these
 * rules (test/chart checks the rendered chart against this list).
 */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const APPLY = ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'];

export const OPERATOR_RULES: PolicyRule[] = [
  {
    apiGroups: ['custos.dev'],
    resources: ['kmsclusters', 'managedkeys', 'keyrotations'],
    verbs: ['get', 'list', 'watch', 'patch', 'update'],
  },
  {
    apiGroups: ['custos.dev'],
    resources: ['kmsclusters/status', 'managedkeys/status', 'keyrotations/status'],
    verbs: ['get', 'patch', 'update'],
  },
  // Owner references with blockOwnerDeletion need update on the owner's finalizers
  // (OwnerReferencesPermissionEnforcement); the ManagedKey finalizer is set by the operator.
  { apiGroups: ['custos.dev'], resources: ['kmsclusters/finalizers', 'managedkeys/finalizers'], verbs: ['update'] },
  // Rollouts: the operator restarts one node pod at a time (controllers/rollout.ts); nothing else.
  { apiGroups: [''], resources: ['pods'], verbs: ['delete'] },
  // Secrets: operator-generated credentials and unseal passwords; it never needs other verbs.
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'patch'] },
  {
    apiGroups: [''],
    resources: ['services', 'persistentvolumeclaims'],
    verbs: ['get', 'list', 'watch', 'create', 'patch'],
  },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  {
    apiGroups: ['apps'],
    resources: ['statefulsets', 'deployments'],
    verbs: ['get', 'list', 'watch', 'create', 'patch'],
  },
  { apiGroups: ['batch'], resources: ['cronjobs'], verbs: APPLY },
  {
    apiGroups: ['networking.k8s.io'],
    resources: ['networkpolicies'],
    verbs: ['get', 'list', 'watch', 'create', 'patch'],
  },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
  { apiGroups: ['cert-manager.io'], resources: ['certificates', 'issuers'], verbs: APPLY },
];

/** Granted only in the operator's own namespace (a Role): the leader-election Lease. */
export const OPERATOR_NAMESPACE_RULES: PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];
