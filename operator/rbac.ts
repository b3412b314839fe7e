/**
 * The operator's least-privilege rules. The chart's ClusterRole (or, namespace-scoped, its Role)
 * must grant exactly these (test/chart), and every verb must have a call site in the operator's
 * code (CALL_SITES below, checked by operator/rbac.test.ts against the sources).
 */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export const OPERATOR_RULES: PolicyRule[] = [
  // Informers list and watch; the ManagedKey finalizer is set with a JSON patch.
  { apiGroups: ['custos.dev'], resources: ['kmsclusters', 'managedkeys', 'keyrotations'], verbs: ['list', 'watch'] },
  { apiGroups: ['custos.dev'], resources: ['managedkeys'], verbs: ['patch'] },
  // Status is written with server-side apply on the status subresource.
  {
    apiGroups: ['custos.dev'],
    resources: ['kmsclusters/status', 'managedkeys/status', 'keyrotations/status'],
    verbs: ['patch'],
  },
  // Owner references with blockOwnerDeletion need update on the owner's finalizers
  // (OwnerReferencesPermissionEnforcement).
  { apiGroups: ['custos.dev'], resources: ['kmsclusters/finalizers', 'managedkeys/finalizers'], verbs: ['update'] },
  // Generated credentials and unseal passwords (create once); the operator's access key and the
  // cluster CA are read when calling the gateway. Never list, never update.
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create'] },
  // Rollouts: one node pod restarted at a time (controllers/rollout.ts).
  { apiGroups: [''], resources: ['pods'], verbs: ['delete'] },
  // Server-side apply creates or patches.
  { apiGroups: [''], resources: ['services', 'persistentvolumeclaims'], verbs: ['create', 'patch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  // Status of StatefulSets and Deployments comes from informers.
  { apiGroups: ['apps'], resources: ['statefulsets', 'deployments'], verbs: ['list', 'watch', 'create', 'patch'] },
  // Pruned when backups are switched off: listed by label, deleted.
  { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['list', 'create', 'patch', 'delete'] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create', 'patch'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['create', 'patch'] },
  // Certificates are watched (readiness, expiry); both kinds are pruned when the issuer changes.
  {
    apiGroups: ['cert-manager.io'],
    resources: ['certificates'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
  { apiGroups: ['cert-manager.io'], resources: ['issuers'], verbs: ['list', 'create', 'patch', 'delete'] },
];

/** Granted only in the operator's own namespace (a Role): the leader-election Lease. */
export const OPERATOR_NAMESPACE_RULES: PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];

/**
 * Where each granted verb is used: `resource verb` -> [file, a line of code that makes that call].
 * A verb without a call site, or a call site that no longer exists, fails operator/rbac.test.ts.
 */
export const CALL_SITES: Record<string, [string, string]> = {
  'kmsclusters list': ['operator/manager.ts', "kmsclusters: inf('kmsclusters', crPath('kmsclusters')"],
  'kmsclusters watch': ['operator/kube/informer.ts', 'watch'],
  'managedkeys list': ['operator/manager.ts', "managedkeys: inf('managedkeys', crPath('managedkeys')"],
  'managedkeys watch': ['operator/kube/informer.ts', 'watch'],
  'managedkeys patch': ['operator/controllers/managedkey.ts', 'ctx.client.jsonPatch('],
  'keyrotations list': ['operator/manager.ts', "keyrotations: inf('keyrotations', crPath('keyrotations')"],
  'keyrotations watch': ['operator/kube/informer.ts', 'watch'],
  'kmsclusters/status patch': ['operator/controllers/kmscluster.ts', "'status',"],
  'managedkeys/status patch': ['operator/controllers/managedkey.ts', 'writeStatus('],
  'keyrotations/status patch': ['operator/controllers/keyrotation.ts', 'writeStatus('],
  'kmsclusters/finalizers update': ['operator/builders/meta.ts', 'blockOwnerDeletion: true'],
  'managedkeys/finalizers update': ['operator/controllers/managedkey.ts', "path: '/metadata/finalizers'"],
  'secrets get': ['operator/controllers/managedkey.ts', "resourcePath('v1', 'Secret'"],
  'secrets create': ['operator/controllers/kmscluster.ts', 'ctx.client.createIfAbsent('],
  'pods delete': ['operator/controllers/kmscluster.ts', "resourcePath('v1', 'Pod'"],
  'services create': ['operator/builders/node.ts', "kind: 'Service'"],
  'services patch': ['operator/controllers/kmscluster.ts', 'ctx.client.apply(obj, FIELD_MANAGER)'],
  'persistentvolumeclaims create': ['operator/builders/gateway.ts', "kind: 'PersistentVolumeClaim'"],
  'persistentvolumeclaims patch': ['operator/controllers/kmscluster.ts', 'ctx.client.apply(obj, FIELD_MANAGER)'],
  'events create': ['operator/kube/events.ts', 'client.create('],
  'statefulsets list': ['operator/manager.ts', "scoped('/apis/apps/v1', 'statefulsets')"],
  'statefulsets watch': ['operator/kube/informer.ts', 'watch'],
  'statefulsets create': ['operator/builders/node.ts', "kind: 'StatefulSet'"],
  'statefulsets patch': ['operator/controllers/kmscluster.ts', 'ctx.client.apply(obj, FIELD_MANAGER)'],
  'deployments list': ['operator/manager.ts', "scoped('/apis/apps/v1', 'deployments')"],
  'deployments watch': ['operator/kube/informer.ts', 'watch'],
  'deployments create': ['operator/builders/gateway.ts', "kind: 'Deployment'"],
  'deployments patch': ['operator/controllers/kmscluster.ts', 'ctx.client.apply(obj, FIELD_MANAGER)'],
  'cronjobs list': ['operator/controllers/kmscluster.ts', "{ apiVersion: 'batch/v1', kind: 'CronJob' }"],
  'cronjobs create': ['operator/builders/backup.ts', "kind: 'CronJob'"],
  'cronjobs patch': ['operator/controllers/kmscluster.ts', 'ctx.client.apply(obj, FIELD_MANAGER)'],
  'cronjobs delete': ['operator/controllers/kmscluster.ts', 'await ctx.client.delete(resourcePath(t.apiVersion'],
  'networkpolicies create': ['operator/builders/policy.ts', "kind: 'NetworkPolicy'"],
  'networkpolicies patch': ['operator/controllers/kmscluster.ts', 'ctx.client.apply(obj, FIELD_MANAGER)'],
  'poddisruptionbudgets create': ['operator/builders/policy.ts', "kind: 'PodDisruptionBudget'"],
  'poddisruptionbudgets patch': ['operator/controllers/kmscluster.ts', 'ctx.client.apply(obj, FIELD_MANAGER)'],
  'certificates list': ['operator/manager.ts', "scoped('/apis/cert-manager.io/v1', 'certificates')"],
  'certificates watch': ['operator/kube/informer.ts', 'watch'],
  'certificates create': ['operator/builders/certificates.ts', "kind: 'Certificate'"],
  'certificates patch': ['operator/controllers/kmscluster.ts', 'ctx.client.apply(obj, FIELD_MANAGER)'],
  'certificates delete': [
    'operator/controllers/kmscluster.ts',
    "{ apiVersion: 'cert-manager.io/v1', kind: 'Certificate' }",
  ],
  'issuers list': ['operator/controllers/kmscluster.ts', "{ apiVersion: 'cert-manager.io/v1', kind: 'Issuer' }"],
  'issuers create': ['operator/builders/certificates.ts', "kind: 'Issuer'"],
  'issuers patch': ['operator/controllers/kmscluster.ts', 'ctx.client.apply(obj, FIELD_MANAGER)'],
  'issuers delete': ['operator/controllers/kmscluster.ts', 'await ctx.client.delete(resourcePath(t.apiVersion'],
  'leases get': ['operator/kube/leader.ts', 'this.client.get<Lease>(this.path)'],
  'leases create': ['operator/kube/leader.ts', 'this.client.create('],
  'leases update': ['operator/kube/leader.ts', 'this.client.replace('],
};
